// Profile templates: what an operator shapes of the sing-box and Clash.Meta profiles (DNS servers
// and rules, route rules, rule sets, the groups, the entry names). A template is data, never code:
// the profile document itself (JSON for sing-box, YAML for Clash) with a few slots, strings such as
// "$proxies" standing alone as a value or a list item, which rendering replaces with what the hub
// builds. User-controlled strings (entry names, credentials) only ever enter the document as
// values, which the format's serializer escapes; nothing is spliced into text. Pure.
import { LineCounter, parse as parseYaml, parseDocument, YAMLParseError, type Node } from 'yaml';
import { textNestsDeeper } from '../../agent-core/common/json-depth.js';
import type { UrlTest } from './subscription-format.js';

export const TEMPLATE_FORMATS = ['singbox', 'clash'] as const;
export type TemplateFormat = (typeof TEMPLATE_FORMATS)[number];

/** Of a template's text; a profile is a few KiB plus the entries. */
export const MAX_TEMPLATE_BYTES = 64 * 1024;
/** Arrays and objects inside each other; real profiles use about 6. */
const MAX_TEMPLATE_DEPTH = 32;
/** Of the entry name pattern (as sub_entry_name_template). */
export const MAX_NAME_PATTERN = 200;

export type Json = Record<string, unknown>;
export type Path = (string | number)[];

/** The slots: each stands for what the hub fills in. */
export const SLOTS = {
  $proxies: "the entries' outbounds (sing-box) or proxies (Clash): one item of the top-level outbounds/proxies list, exactly once",
  $all: 'the names of every entry: an item of a group’s member list',
  $usable: 'the names of the entries that reach a node (not a stand-in): an item of a group’s member list',
  $urltest_url: 'the sub_urltest_url setting',
  $urltest_interval: 'the sub_urltest_interval_s setting (sing-box: a duration such as "5m"; Clash: seconds)',
  $urltest_tolerance: 'the sub_urltest_tolerance_ms setting (milliseconds)',
} as const;
const LIST_SLOTS = new Set<string>(['$proxies', '$all', '$usable']);
const SLOT_LIKE = /^\$[a-z_]+$/;

/** Where a format keeps its lists, and its few format-specific values. */
export interface TemplateShape {
  format: TemplateFormat;
  /** The top-level list $proxies goes in. */
  proxiesKey: string;
  /** The top-level list whose items with a member list are groups. */
  groupsKey: string;
  /** A group's member list. */
  membersKey: string;
  /** A group's name. */
  nameKey: string;
  selectorType: string;
  /** The one member of a selector left with nothing (a profile without any entry). */
  emptySelector: string;
  interval(seconds: number): string | number;
}

/** A template ready to render: the parsed document and the entry name pattern ('' : the hub's). */
export interface ProfileTemplate {
  document: Json;
  namePattern: string;
}

/** What a template is refused for: the message, and the template line it is about when known. */
export class TemplateProblem extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'TemplateProblem';
  }
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const pathText = (path: Path): string => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

/** The template's text parsed (JSON for sing-box, YAML for Clash), with the line of a syntax error. */
function parseText(format: TemplateFormat, text: string): unknown {
  if (Buffer.byteLength(text) > MAX_TEMPLATE_BYTES) throw new TemplateProblem(`the template is larger than ${MAX_TEMPLATE_BYTES / 1024} KiB`);
  if (textNestsDeeper(text, MAX_TEMPLATE_DEPTH)) throw new TemplateProblem(`the template nests deeper than ${MAX_TEMPLATE_DEPTH} levels`);
  if (format === 'singbox') {
    try {
      return JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      const at = jsonErrorOffset(text, message);
      throw new TemplateProblem(`not JSON: ${message.replace(/\s+/g, ' ')}`, at === undefined ? undefined : lineAt(text, at));
    }
  }
  try {
    return parseYaml(text, { uniqueKeys: true, maxAliasCount: 0, prettyErrors: false });
  } catch (error) {
    if (error instanceof YAMLParseError) throw new TemplateProblem(`not YAML: ${error.message.split('\n')[0]}`, error.linePos?.[0].line);
    throw new TemplateProblem(`not YAML: ${(error as Error).message}`);
  }
}

const lineAt = (text: string, offset: number) => text.slice(0, offset).split('\n').length;

/**
 * Where JSON.parse stopped: V8 says "at position N", or quotes the text around an unexpected token
 * (from 10 characters before it, with "..." when cut).
 */
function jsonErrorOffset(text: string, message: string): number | undefined {
  const at = /at position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  const quoted = /^Unexpected token '([\s\S])', (\.\.\.)?"([\s\S]*)"(?:\.\.\.)? is not valid JSON$/.exec(message);
  if (!quoted) return undefined;
  const [, token, cut, around] = quoted;
  const start = text.indexOf(around!);
  if (start < 0) return undefined;
  return cut ? start + 10 : start + around!.indexOf(token!);
}

/**
 * Parses and checks a template's form: a document (an object) whose slots are known and where they
 * may stand, $proxies exactly once in the top-level list, and an entry name pattern of known fields.
 * Throws a TemplateProblem naming the line.
 */
export function parseTemplate(shape: TemplateShape, text: string, namePattern: string): ProfileTemplate {
  const document = parseText(shape.format, text);
  const problem = (message: string, path: Path): never => {
    throw new TemplateProblem(`${pathText(path)}: ${message}`, templateLine(text, path));
  };
  if (!isObject(document)) throw new TemplateProblem(`the template must be ${shape.format === 'singbox' ? 'a JSON object' : 'a YAML mapping'}`);
  if (!Array.isArray(document[shape.proxiesKey])) problem(`must be a list holding "$proxies"`, [shape.proxiesKey]);
  let proxies = 0;
  const visit = (value: unknown, path: Path): void => {
    if (Array.isArray(value)) return value.forEach((v, i) => visit(v, [...path, i]));
    if (isObject(value)) return Object.entries(value).forEach(([k, v]) => visit(v, [...path, k]));
    if (typeof value !== 'string' || !SLOT_LIKE.test(value)) return;
    if (!(value in SLOTS)) problem(`unknown slot ${value}; the slots are ${Object.keys(SLOTS).join(', ')}`, path);
    if (!LIST_SLOTS.has(value)) return;
    if (value === '$proxies') {
      proxies++;
      if (path.length !== 2 || path[0] !== shape.proxiesKey) problem(`$proxies goes in the top-level ${shape.proxiesKey} list only`, path);
      if (proxies > 1) problem('$proxies may stand only once', path);
      return;
    }
    if (path.length !== 4 || path[0] !== shape.groupsKey || path[2] !== shape.membersKey) {
      problem(`${value} goes only in a group's member list (${shape.groupsKey}[n].${shape.membersKey})`, path);
    }
  };
  visit(document, []);
  if (proxies === 0) problem('must hold "$proxies", where the entries go', [shape.proxiesKey]);
  if (namePattern.length > MAX_NAME_PATTERN) throw new TemplateProblem(`the entry name pattern is longer than ${MAX_NAME_PATTERN} characters`);
  const unknown = /\{(?!(?:name|node|region|type|unlock|multiplier)\})[^}]*\}/.exec(namePattern);
  if (unknown) throw new TemplateProblem(`the entry name pattern has an unknown field ${unknown[0]}; the fields are {name} {node} {region} {type} {unlock} {multiplier}`);
  return { document, namePattern };
}

/** What rendering fills the slots with. */
export interface SlotValues {
  /** The entries' outbounds or proxies, in entry order. */
  proxies: Json[];
  /** Every entry's name. */
  all: string[];
  /** The names of the entries that reach a node. */
  usable: string[];
  urltest: UrlTest;
}

/** Where each rendered list item came from: its index in the template's list, or the slot it was filled in for. */
export type Origins = WeakMap<unknown[], { index: number; slot: boolean }[]>;

/**
 * The profile document. A group's member list gets the names its $all / $usable stand for. In a
 * profile with no usable entry (a stand-in for a user who is not served) a group with such a slot
 * keeps only those names, so nothing routes anywhere but the stand-in: a group left with none is
 * left out (a selector gets the format's emptySelector instead), and so are the other groups'
 * references to it. `origins`, when given, records where each list item came from (for the lines
 * of a check's findings).
 */
export function renderTemplate(shape: TemplateShape, template: ProfileTemplate, values: SlotValues, origins?: Origins): Json {
  const scalars: Record<string, unknown> = {
    $urltest_url: values.urltest.url,
    $urltest_interval: shape.interval(values.urltest.intervalS),
    $urltest_tolerance: values.urltest.toleranceMs,
  };
  const lists: Record<string, unknown[]> = { $proxies: values.proxies, $all: values.all, $usable: values.usable };
  const copy = (value: unknown): unknown => {
    if (typeof value === 'string') return value.startsWith('$') && value in scalars ? scalars[value] : value;
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      const from: { index: number; slot: boolean }[] = [];
      value.forEach((item, index) => {
        const filled = typeof item === 'string' && item.startsWith('$') ? lists[item] : undefined;
        if (filled) {
          out.push(...filled);
          for (let n = 0; n < filled.length; n++) from.push({ index, slot: true });
        } else {
          out.push(copy(item));
          from.push({ index, slot: false });
        }
      });
      origins?.set(out, from);
      return out;
    }
    // fromEntries defines every key as data, "__proto__" included.
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)]));
    return value;
  };
  const document = copy(template.document) as Json;
  if (values.usable.length === 0) keepOnlyEntries(shape, template.document, document, new Set(values.all), origins);
  return document;
}

/** The stand-in reduction of renderTemplate. */
function keepOnlyEntries(shape: TemplateShape, source: Json, document: Json, entries: Set<string>, origins: Origins | undefined): void {
  const templateGroups = source[shape.groupsKey];
  const groups = document[shape.groupsKey];
  if (!Array.isArray(templateGroups) || !Array.isArray(groups)) return;
  const from = origins?.get(groups);
  const dropped = new Set<string>();
  groups.forEach((group, i) => {
    const origin = templateGroups[from ? from[i]!.index : i];
    const templateMembers = isObject(origin) ? origin[shape.membersKey] : undefined;
    if (!isObject(group) || !Array.isArray(templateMembers) || !templateMembers.some((m) => m === '$all' || m === '$usable')) return;
    const members = (group[shape.membersKey] as unknown[]).filter((m) => typeof m === 'string' && entries.has(m));
    if (members.length > 0 || group.type === shape.selectorType) group[shape.membersKey] = members.length > 0 ? members : [shape.emptySelector];
    else dropped.add(String(group[shape.nameKey]));
  });
  const kept: unknown[] = [];
  const keptFrom: { index: number; slot: boolean }[] = [];
  groups.forEach((group, i) => {
    if (isObject(group) && dropped.has(String(group[shape.nameKey])) && Array.isArray(group[shape.membersKey])) return;
    if (isObject(group) && Array.isArray(group[shape.membersKey])) {
      group[shape.membersKey] = (group[shape.membersKey] as unknown[]).filter((m) => !(typeof m === 'string' && dropped.has(m)));
      if (typeof group.default === 'string' && !(group[shape.membersKey] as unknown[]).includes(group.default)) delete group.default;
    }
    kept.push(group);
    if (from) keptFrom.push(from[i]!);
  });
  document[shape.groupsKey] = kept;
  if (from) origins!.set(kept, keptFrom);
}

/**
 * The template line a rendered path comes from: followed through the template, a list item filled
 * in by a slot is the slot's line, and a path that leaves the template stops at its last step in it.
 */
export function sourcePath(document: unknown, path: Path, origins: Origins): Path {
  const out: Path = [];
  let node = document;
  for (const step of path) {
    if (Array.isArray(node) && typeof step === 'number') {
      const origin = origins.get(node)?.[step];
      if (!origin) return out;
      out.push(origin.index);
      if (origin.slot) return out;
      node = node[step];
    } else if (isObject(node) && typeof step === 'string' && step in node) {
      out.push(step);
      node = node[step];
    } else return out;
  }
  return out;
}

/** The line of `path` in a template's text (JSON is YAML's flow style, so one locator reads both). */
export function templateLine(text: string, path: Path): number | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  let node: Node | undefined;
  for (let n = path.length; n >= 0 && !node; n--) {
    const found = doc.getIn(path.slice(0, n), true);
    if (found && typeof found === 'object' && 'range' in found && found.range) node = found as Node;
  }
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}
