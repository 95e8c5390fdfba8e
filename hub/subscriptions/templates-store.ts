// Where profile templates are kept: the profile_templates table, one row per saved version, the
// newest of a format served. /sub reads which version is current on every read of the served
// nodes (lookup.ts), so a template saved on any hub is in the next answer of every hub; a version's
// parsed template is kept per process, as rows never change.
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import { selectRows } from '../db/queries.js';
import { TEMPLATE_SHAPES } from './templates-check.js';
import { parseTemplate, TEMPLATE_FORMATS, type ProfileTemplate, type TemplateFormat } from './templates.js';

export interface TemplateRow {
  id: number;
  format: TemplateFormat;
  /** null: the built-in default. */
  body: string | null;
  name_pattern: string;
  created_at: number;
  created_by: string;
}

/** The current version's id of each format that has one (no row: the built-in default). */
export type TemplateVersions = ReadonlyMap<TemplateFormat, number>;

const CURRENT_SQL = 'SELECT format, MAX(id) AS id FROM profile_templates GROUP BY format';

export async function currentVersions(db: Knex): Promise<TemplateVersions> {
  const rows = await selectRows<{ format: string; id: number | string }>(db, CURRENT_SQL);
  return new Map(rows.filter((r) => (TEMPLATE_FORMATS as readonly string[]).includes(r.format)).map((r) => [r.format as TemplateFormat, Number(r.id)]));
}

const rowOf = (r: Record<string, unknown>): TemplateRow => ({
  id: Number(r.id),
  format: r.format as TemplateFormat,
  body: (r.body as string | null) ?? null,
  name_pattern: String(r.name_pattern ?? ''),
  created_at: Number(r.created_at),
  created_by: String(r.created_by),
});

/** The current row of a format; undefined when it was never saved. */
export async function currentTemplate(db: Knex, format: TemplateFormat): Promise<TemplateRow | undefined> {
  const row = await db('profile_templates').where({ format }).orderBy('id', 'desc').first();
  return row ? rowOf(row) : undefined;
}

/** Saves a new version (body null: back to the default) and answers it. */
export async function saveTemplate(db: Knex, row: Omit<TemplateRow, 'id'>): Promise<TemplateRow> {
  const [id] = await db('profile_templates').insert(row);
  return { ...row, id: Number(id) };
}

/**
 * Returns the loader of a version's parsed template; undefined for the default. A stored body
 * passed the checks when it was saved; one this hub can no longer parse (an older hub saved it with
 * a slot since renamed) is served as the default and reported once.
 */
export function templateLoader(db: Knex, warn: (message: string, fields: Record<string, unknown>) => void): (id: number | undefined) => Promise<ProfileTemplate | undefined> {
  const cache = new LRUCache<number, { template?: ProfileTemplate }>({
    max: 64,
    fetchMethod: async (id) => {
      const row = await db('profile_templates').where({ id }).first();
      if (!row?.body) return { template: undefined };
      const { format, body, name_pattern } = rowOf(row);
      try {
        return { template: parseTemplate(TEMPLATE_SHAPES[format], body!, name_pattern) };
      } catch (error) {
        warn('profile template not usable; serving the default', { id, format, error: (error as Error).message });
        return { template: undefined };
      }
    },
  });
  return async (id) => (id === undefined ? undefined : (await cache.fetch(id))?.template);
}
