// Which nodes a batch, a schedule or a rollout reaches, in words.
import type { BatchTarget } from '../data/batches.js';
import { t } from '../i18n.js';

/** At most this many node ids are named; the rest are counted. */
const NAMED = 3;

export function targetText(target: BatchTarget): string {
  if ('all' in target) return t('target.all');
  if ('tags' in target) return t('target.tags').replace('{tags}', target.tags.join(', '));
  const ids = target.node_ids;
  const named = ids.slice(0, NAMED).join(', ');
  return ids.length > NAMED ? t('target.nodesMore').replace('{nodes}', named).replace('{more}', String(ids.length - NAMED)) : t('target.nodes').replace('{nodes}', named);
}
