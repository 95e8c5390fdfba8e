// What a proxy user is made of, shared by the users routes and the users import: the name sing-box
// knows them by, their statuses, and the secrets each gets at creation.
import { randomBytes, randomUUID } from 'node:crypto';
import type { SubscriptionStatus } from './db/models.js';

export const USER_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$';
export const USER_STATUSES = ['active', 'disabled'] as const;

/** Fresh secrets for every protocol the nodes may serve, plus the subscription token. */
export function newCredentials() {
  return {
    uuid: randomUUID(),
    password: randomBytes(18).toString('base64url'),
    // 32 bytes: the key length of 2022-blake3-aes-256-gcm / chacha20-poly1305.
    ss_key: randomBytes(32).toString('base64'),
    sub_token: newSubToken(),
  };
}

export const newSubToken = () => randomBytes(32).toString('base64url');

/**
 * Of one user's subscriptions that are not cancelled, newest first: the one that governs the user
 * now, which is the active or suspended one if there is one (there is at most one), else the newest.
 */
export function governing<S extends { status: SubscriptionStatus }>(newestFirst: readonly S[]): S | null {
  return newestFirst.find((s) => s.status === 'active' || s.status === 'suspended') ?? newestFirst[0] ?? null;
}
