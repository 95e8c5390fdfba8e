// A steady stream of numbered debug lines, to prove a log pipeline end to end (rotation, shipper)
// with a known count: line `seq` n is the n-th since start. Off unless a rate is set; written only
// while the level is debug, so it can be switched on and off at run time with the level. Each tick
// runs in a trace of its own (when tracing is on), so the lines carry trace ids as real work does.
import type { AppLogger } from './logger.js';
import { entrySpan } from './tracing.js';

const TICK_MS = 50;

/** Writes `linesPerSecond` lines a second on average (catching up after a slow tick); returns the stop. */
export function startLogLoad(logger: AppLogger, linesPerSecond: number): () => void {
  const started = Date.now();
  let seq = 0;
  const timer = setInterval(() => {
    void entrySpan('log-load-test', async () => {
      const due = Math.floor(((Date.now() - started) / 1000) * linesPerSecond);
      while (seq < due) {
        seq += 1;
        logger.debug('log load test', { 'event.kind': 'event', 'event.action': 'log-load-test', seq });
      }
    });
  }, TICK_MS);
  return () => clearInterval(timer);
}
