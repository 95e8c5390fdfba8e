// The one place that decides what is a secret in JSON the hub records or shows: node configs
// (REALITY private keys, shadowsocks server keys, TLS keys), command outputs (the Clash API secret),
// user credentials and request bodies. The audit log stores bodies through it, and every answer to a
// role below admin goes through it, so only admins and owners ever read a node's secrets.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { may } from '../agent-core/common/roles.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route exists to show its role a secret (a user's credentials, to the operators who hand
     * them out): its answers are not redacted.
     */
    showsSecrets?: boolean;
  }
}

export const REDACTED = '[redacted]';
/** Deeper than any config or command output; what lies below is dropped rather than walked. */
const MAX_DEPTH = 64;

// Field names as sing-box, the SSM API, mihomo and the hub spell them (snake, kebab or camel case).
const SECRET_WORDS = /password|passwd|secret|token|uuid|credential|enrollment|private_?key|pre_?shared_?key|upsk/;
const SECRET_NAMES = new Set(['psk', 'auth', 'auth_str']);
/** Fields named like keys that are public: everything else ending in `key` (key, ss_key, api_key...) is secret. */
const PUBLIC_KEYS = new Set(['public_key', 'publickey', 'object_key']);

export function isSecretField(name: string): boolean {
  const n = name.toLowerCase().replace(/-/g, '_');
  return SECRET_WORDS.test(n) || SECRET_NAMES.has(n) || (n.endsWith('key') && !PUBLIC_KEYS.has(n));
}

/** A secret is a string or number, or a list of them (a PEM key as lines); objects under a secret name are walked. */
const holdsSecret = (value: unknown) =>
  typeof value === 'string' || typeof value === 'number' || (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object'));

/**
 * A copy of `value` with the value of every secret-bearing field replaced by "[redacted]". Walks
 * with its own stack, so a deeply nested value cannot overflow the call stack; anything deeper than
 * MAX_DEPTH is replaced too.
 */
export function redact(value: unknown): unknown {
  const root: { value: unknown } = { value: undefined };
  const stack: { from: unknown; into: Record<string, unknown> | unknown[]; key: string | number; depth: number }[] = [
    { from: value, into: root as Record<string, unknown>, key: 'value', depth: 0 },
  ];
  while (stack.length > 0) {
    const { from, into, key, depth } = stack.pop()!;
    const put = (v: unknown) => ((into as Record<string | number, unknown>)[key] = v);
    if (from === null || typeof from !== 'object') {
      put(from);
    } else if (depth >= MAX_DEPTH) {
      put(REDACTED);
    } else if (Array.isArray(from)) {
      const copy: unknown[] = new Array(from.length);
      put(copy);
      from.forEach((item, i) => stack.push({ from: item, into: copy, key: i, depth: depth + 1 }));
    } else {
      // Null-prototype copy: a field named __proto__ stays a plain field.
      const copy: Record<string, unknown> = Object.create(null);
      put(copy);
      for (const [k, v] of Object.entries(from)) {
        const secret = isSecretField(k) && holdsSecret(v);
        // Set now even when walked later, so the copy keeps the keys in their order.
        copy[k] = secret ? REDACTED : undefined;
        if (!secret) stack.push({ from: v, into: copy, key: k, depth: depth + 1 });
      }
    }
  }
  return root.value;
}

/** Redacts every JSON answer an authenticated route gives to a viewer or operator. */
export const redactPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('preSerialization', async (request, _reply, payload) => {
      const config = request.routeOptions.config;
      if (!request.admin || config?.role === 'public' || config?.showsSecrets) return payload;
      return may(request.admin.role, 'admin') ? payload : redact(payload);
    });
  },
  { name: 'redact', dependencies: ['auth'] },
);
