// How a config is named: the sha256 of its canonical JSON. The hub names a config version by it
// and singbox-config reports the hash of the base config it serves, so equal hashes on both sides
// mean the same config.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

export const configHash = (value: unknown): string => createHash('sha256').update(canonicalJson(value)).digest('hex');
