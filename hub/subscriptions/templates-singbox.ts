// Checking a sing-box profile rendered from a template before the template is saved. sing-box 1.13's
// own `sing-box check` parses strictly (an unknown key, a bad value or key fails it) but does not
// resolve tags: a DNS rule naming a server that does not exist, a route rule or group naming a
// missing outbound, or a missing rule set all pass it and fail only when a client uses them. So the
// hub checks those references itself first, then runs the real check. File paths must be relative:
// sing-box check reads local rule sets and certificates, and on the hub it must read nothing but
// its own empty working folder.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Json, Path } from './templates.js';

/** What a check found: a message and, when it is about one place, the path of that place in the profile. */
export interface Finding {
  message: string;
  path?: Path;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const names = (v: unknown): string[] => (typeof v === 'string' ? [v] : list(v).filter((s): s is string => typeof s === 'string'));

/** Tags of a list's items, or the first duplicate. */
function tagsOf(items: unknown[], where: Path, what: string): Set<string> | Finding {
  const tags = new Set<string>();
  for (const [i, item] of items.entries()) {
    const tag = isObject(item) ? item.tag : undefined;
    if (typeof tag !== 'string') continue;
    if (tags.has(tag)) return { message: `two ${what}s are tagged ${JSON.stringify(tag)}`, path: [...where, i, 'tag'] };
    tags.add(tag);
  }
  return tags;
}

/** Every tag the profile names (outbound, DNS server, rule set) exists; the first one that does not. */
export function singboxReferences(doc: Json): Finding | undefined {
  const dns = isObject(doc.dns) ? doc.dns : {};
  const route = isObject(doc.route) ? doc.route : {};
  const outbounds = tagsOf([...list(doc.outbounds), ...list(doc.endpoints)], ['outbounds'], 'outbound');
  const servers = tagsOf(list(dns.servers), ['dns', 'servers'], 'DNS server');
  const ruleSets = tagsOf(list(route.rule_set), ['route', 'rule_set'], 'rule set');
  for (const tags of [outbounds, servers, ruleSets]) if (!(tags instanceof Set)) return tags;
  const known = { outbound: outbounds as Set<string>, 'DNS server': servers as Set<string>, 'rule set': ruleSets as Set<string> };

  const missing = (kind: keyof typeof known, value: unknown, where: Path): Finding | undefined => {
    for (const [i, name] of names(value).entries()) {
      if (!known[kind].has(name)) {
        const there = [...known[kind]].join(', ') || 'none';
        return { message: `no ${kind} is tagged ${JSON.stringify(name)} (${kind}s: ${there})`, path: Array.isArray(value) ? [...where, i] : where };
      }
    }
    return undefined;
  };
  const resolver = (value: unknown, where: Path) => (isObject(value) ? missing('DNS server', value.server, [...where, 'server']) : missing('DNS server', value, where));
  const rules = (items: unknown, where: Path, target: 'outbound' | 'server'): Finding | undefined => {
    for (const [i, rule] of list(items).entries()) {
      if (!isObject(rule)) continue;
      const at = [...where, i];
      const found =
        missing(target === 'outbound' ? 'outbound' : 'DNS server', rule[target], [...at, target]) ??
        missing('rule set', rule.rule_set, [...at, 'rule_set']) ??
        rules(rule.rules, [...at, 'rules'], target);
      if (found) return found;
    }
    return undefined;
  };

  for (const [i, outbound] of list(doc.outbounds).entries()) {
    if (!isObject(outbound)) continue;
    const at: Path = ['outbounds', i];
    const members = names(outbound.outbounds);
    const found =
      missing('outbound', outbound.outbounds, [...at, 'outbounds']) ??
      missing('outbound', outbound.detour, [...at, 'detour']) ??
      resolver(outbound.domain_resolver, [...at, 'domain_resolver']) ??
      (typeof outbound.default === 'string' && !members.includes(outbound.default)
        ? { message: `default ${JSON.stringify(outbound.default)} is not one of this group's outbounds`, path: [...at, 'default'] }
        : undefined);
    if (found) return found;
  }
  for (const [i, server] of list(dns.servers).entries()) {
    if (!isObject(server)) continue;
    const found = missing('outbound', server.detour, ['dns', 'servers', i, 'detour']) ?? resolver(server.domain_resolver, ['dns', 'servers', i, 'domain_resolver']);
    if (found) return found;
  }
  for (const [i, set] of list(route.rule_set).entries()) {
    const found = isObject(set) ? missing('outbound', set.download_detour, ['route', 'rule_set', i, 'download_detour']) : undefined;
    if (found) return found;
  }
  return (
    rules(dns.rules, ['dns', 'rules'], 'server') ??
    missing('DNS server', dns.final, ['dns', 'final']) ??
    rules(route.rules, ['route', 'rules'], 'outbound') ??
    missing('outbound', route.final, ['route', 'final']) ??
    resolver(route.default_domain_resolver, ['route', 'default_domain_resolver'])
  );
}

/** A key naming a file sing-box would read or write. */
const isFileKey = (key: string, parent: Json, where: Path) =>
  key.endsWith('_path') || key === 'output' || key === 'external_ui' || (key === 'path' && (parent.type === 'local' || where.at(-1) === 'cache_file'));

/** The first file path that is absolute or climbs out of the working folder. */
export function hubFilePath(doc: Json): Finding | undefined {
  const visit = (value: unknown, where: Path): Finding | undefined => {
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        const found = visit(item, [...where, i]);
        if (found) return found;
      }
    } else if (isObject(value)) {
      for (const [key, v] of Object.entries(value)) {
        if (typeof v === 'string' && isFileKey(key, value, where) && (path.isAbsolute(v) || /^~|^[A-Za-z]:|(^|[\\/])\.\.([\\/]|$)/.test(v))) {
          return { message: `file paths must be relative to sing-box's working folder (the client's; on the hub an empty one), not ${JSON.stringify(v)}`, path: [...where, key] };
        }
        const found = visit(v, [...where, key]);
        if (found) return found;
      }
    }
    return undefined;
  };
  return visit(doc, []);
}

/** sing-box could not be run on the hub. */
export class CheckUnavailable extends Error {}

const CHECK_TIMEOUT_MS = 20_000;

/** Where in the profile a FATAL line of sing-box check is about, when it says. */
const FATAL_PLACES: [RegExp, (m: RegExpExecArray) => Path][] = [
  [/decode config at stdin: ([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\d+\])*): /, (m) => m[1]!.split(/\.|(?=\[)/).map((p) => (p.startsWith('[') ? Number(p.slice(1, -1)) : p))],
  [/initialize outbound\[(\d+)\]/, (m) => ['outbounds', Number(m[1])]],
  [/initialize endpoint\[(\d+)\]/, (m) => ['endpoints', Number(m[1])]],
  [/initialize inbound\[(\d+)\]/, (m) => ['inbounds', Number(m[1])]],
  [/initialize DNS server\[(\d+)\]/, (m) => ['dns', 'servers', Number(m[1])]],
  [/parse dns rule\[(\d+)\]/, (m) => ['dns', 'rules', Number(m[1])]],
  [/parse rule-set\[(\d+)\]/, (m) => ['route', 'rule_set', Number(m[1])]],
  [/parse rule\[(\d+)\]/, (m) => ['route', 'rules', Number(m[1])]],
  [/create log factory/, () => ['log']],
];

/**
 * The real `sing-box check` on the profile (read from stdin, in an empty working folder, without
 * the deprecated-feature escapes); undefined when it passes, else its FATAL line as the message.
 * Throws CheckUnavailable when the binary cannot be run.
 */
export async function singboxCheck(binary: string, doc: Json): Promise<Finding | undefined> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-template-check-'));
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(binary, ['check', '-c', 'stdin', '-D', dir, '--disable-color'], { env: { PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'ignore', 'pipe'], timeout: CHECK_TIMEOUT_MS });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err.length < 64 * 1024 ? (err += chunk) : undefined));
      child.on('error', (error) => reject(new CheckUnavailable(`cannot run ${binary}: ${error.message}`)));
      child.on('close', (exit, signal) => (signal ? reject(new CheckUnavailable(`${binary} check did not finish within ${CHECK_TIMEOUT_MS} ms`)) : resolve({ code: exit, stderr: err })));
      child.stdin.on('error', () => {}); // a binary that exits early closes the pipe; its exit says why
      child.stdin.end(JSON.stringify(doc));
    });
    if (code === 0) return undefined;
    const lines = stderr.trim().split('\n');
    const fatal = lines.filter((l) => l.includes('FATAL')).join('\n') || lines.at(-1) || `exit code ${code}`;
    const place = FATAL_PLACES.map(([re, at]) => ({ m: re.exec(fatal), at })).find((p) => p.m);
    return { message: `sing-box check: ${fatal.replace(/^FATAL\[\d+\]\s*/, '')}`, path: place ? place.at(place.m!) : undefined };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
