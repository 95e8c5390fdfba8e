// Watch streams to agents for the browsers that follow a node's metrics (GET /api/v1/ws): one per
// node and only while someone is subscribed to it (reference-counted; closed when the last
// subscriber leaves). Samples that arrive are stored (hub/jobs/metrics.ts) and passed on.
import type { Knex } from 'knex';
import type { AppLogger } from '../agent-core/common/logger.js';
import type { AgentPool } from './agents.js';
import { Node } from './db/models.js';
import type { Sample } from '../plugins/sysmetrics/contract.js';
import { storeSamples, type NodeSample } from './jobs/metrics.js';

const SAMPLE_EVENT = 'sysmetrics.sample';
const RETRY_MS = 5000;

export type SampleListener = (sample: NodeSample) => void;
/** Told when the node's stream failed (it is retried while subscribers remain). */
export type ErrorListener = (node: string, message: string) => void;

interface Watched {
  listeners: Set<{ sample: SampleListener; error: ErrorListener }>;
  stop?: () => void;
  retry?: NodeJS.Timeout;
}

export class MetricsWatches {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly db: Knex,
    private readonly agents: AgentPool,
    private readonly logger: AppLogger,
  ) {}

  /** Nodes with an open Watch stream. */
  open(): string[] {
    return [...this.watched].filter(([, w]) => w.stop).map(([id]) => id);
  }

  subscribe(node: Node, sample: SampleListener, error: ErrorListener): () => void {
    let watched = this.watched.get(node.id);
    if (!watched) {
      watched = { listeners: new Set() };
      this.watched.set(node.id, watched);
      this.start(node.id, watched);
    }
    const listener = { sample, error };
    watched.listeners.add(listener);
    return () => {
      watched.listeners.delete(listener);
      if (watched.listeners.size > 0 || this.watched.get(node.id) !== watched) return;
      this.watched.delete(node.id);
      this.end(node.id, watched);
    };
  }

  private end(nodeId: string, watched: Watched): void {
    clearTimeout(watched.retry);
    watched.stop?.();
    watched.stop = undefined;
    this.logger.info('watch stream closed', { node_id: nodeId });
  }

  private start(nodeId: string, watched: Watched): void {
    void (async () => {
      // Read afresh: the node may have changed address or token since the last attempt.
      const node = await Node.query(this.db).findById(nodeId);
      if (this.watched.get(nodeId) !== watched) return;
      if (!node) return this.fail(nodeId, watched, `no node ${nodeId}`, false);
      let stop: (() => void) | undefined;
      stop = this.agents.client(node).watch(
        [SAMPLE_EVENT],
        (event) => {
          if (event.name !== SAMPLE_EVENT) return;
          const payload = event.payload as Sample;
          const sample = { node: nodeId, kind: payload.kind, time: payload.time, values: payload.values };
          storeSamples(this.db, [sample]).catch((error: Error) => this.logger.warn('metrics sample not stored', { node_id: nodeId, error: error.message }));
          for (const l of watched.listeners) l.sample(sample);
        },
        (error) => {
          if (watched.stop !== stop) return;
          watched.stop = undefined;
          if (this.watched.get(nodeId) === watched) this.fail(nodeId, watched, error?.message ?? 'the agent ended the stream', true);
        },
      );
      watched.stop = stop;
      this.logger.info('watch stream opened', { node_id: nodeId });
    })().catch((error: Error) => this.fail(nodeId, watched, error.message, true));
  }

  private fail(nodeId: string, watched: Watched, message: string, retry: boolean): void {
    this.logger.warn('watch stream failed', { node_id: nodeId, error: message, retry_ms: retry ? RETRY_MS : undefined });
    for (const l of watched.listeners) l.error(nodeId, message);
    if (!retry) return;
    watched.retry = setTimeout(() => {
      if (this.watched.get(nodeId) === watched) this.start(nodeId, watched);
    }, RETRY_MS);
    watched.retry.unref();
  }

  close(): void {
    for (const [id, watched] of this.watched) this.end(id, watched);
    this.watched.clear();
  }
}
