// How the state of a batch, a rollout or one of their nodes reads: a badge in its tone, in words;
// and a batch's nodes counted by state.
import { html } from 'lit';
import { t } from '../i18n.js';
import { BATCH_NODE_STATUSES, type BatchNodeStatus, type BatchPublic, type BatchStatus } from '../data/batches.js';
import type { RolloutNodeStatus, RolloutStatus } from '../data/rollouts.js';

export type RecordStatus = BatchStatus | BatchNodeStatus | RolloutStatus | RolloutNodeStatus;

/** The badge's class (shared-styles.ts): done well, failed, ended otherwise, on hold, or under way (none). */
const TONES: Record<RecordStatus, 'ok' | 'error' | 'cancelled' | 'expired' | ''> = {
  pending: '',
  running: '',
  applying: '',
  applied: '',
  rolling_back: 'expired',
  paused: 'expired',
  succeeded: 'ok',
  passed: 'ok',
  failed: 'error',
  rollback_failed: 'error',
  cancelled: 'cancelled',
  skipped: 'cancelled',
  aborted: 'cancelled',
  rolled_back: 'cancelled',
};

export const statusBadge = (status: RecordStatus) =>
  html`<span class="badge ${TONES[status]}" data-status=${status}>${t(`status.${status}` as const)}</span>`;

/** "3 succeeded · 1 failed": the states a batch's nodes are in, leaving out those none is in. */
export const countsText = (counts: BatchPublic['counts']) =>
  BATCH_NODE_STATUSES.filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${t(`status.${s}` as const)}`)
    .join(' · ');
