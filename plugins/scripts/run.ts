// Runs one script: the file and argv only (no shell), in a process group of its own, so a timeout or
// a cancelled call ends the script and everything it started (SIGTERM to the group, SIGKILL after
// the grace). Each output stream is kept up to a cap; the rest is read and dropped, so a chatty
// script never blocks on a full pipe, and the kept text ends with a marker saying what was cut.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { FailedPreconditionError } from '../../agent-core/sdk.js';
import type { RunOutput } from './contract.js';

export interface RunSpec {
  file: string;
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** How long the group has after SIGTERM before SIGKILL. */
  graceMs: number;
  /** Bytes kept per stream. */
  capBytes: number;
  /** Aborted when the call's deadline passes or its caller goes away: the group is ended. */
  signal: AbortSignal;
}

/** How long SIGKILL may take to empty the group before the run answers anyway. */
const KILL_WAIT_MS = 1000;
const POLL_MS = 50;

class CappedOutput {
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private totalBytes = 0;

  constructor(private readonly capBytes: number) {}

  add(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    const room = this.capBytes - this.keptBytes;
    if (room <= 0) return;
    const part = chunk.length > room ? Buffer.from(chunk.subarray(0, room)) : chunk;
    this.kept.push(part);
    this.keptBytes += part.length;
  }

  get cut(): boolean {
    return this.totalBytes > this.capBytes;
  }

  text(): string {
    const text = Buffer.concat(this.kept).toString('utf8');
    if (!this.cut) return text;
    return `${text}\n[boxfleet: output cut at ${this.capBytes} bytes; ${this.totalBytes - this.capBytes} more bytes dropped]\n`;
  }
}

/** Sends `signal` to the group; false when no process of it is left. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the whole group, SIGKILL to what is left after `graceMs`; resolves once it is gone (or SIGKILL had its time). */
async function endGroup(pgid: number, graceMs: number): Promise<void> {
  for (const [signal, waitMs] of [['SIGTERM', graceMs], ['SIGKILL', KILL_WAIT_MS]] as const) {
    if (!signalGroup(pgid, signal)) return;
    for (const until = Date.now() + waitMs; Date.now() < until; ) {
      await sleep(POLL_MS);
      if (!signalGroup(pgid, 0)) return;
    }
  }
}

export function runScript(spec: RunSpec): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // detached: the script leads a new process group (and session), which is what the kill targets.
    const child = spawn(spec.file, spec.argv, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout = new CappedOutput(spec.capBytes);
    const stderr = new CappedOutput(spec.capBytes);
    child.stdout.on('data', (chunk: Buffer) => stdout.add(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.add(chunk));

    let timedOut = false;
    let ending: Promise<void> | undefined;
    const end = () => {
      if (child.pid !== undefined) ending ??= endGroup(child.pid, spec.graceMs);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      end();
    }, spec.timeoutMs);
    spec.signal.addEventListener('abort', end, { once: true });
    if (spec.signal.aborted) end();
    let settled = false;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      spec.signal.removeEventListener('abort', end);
    };

    child.once('error', (error) => {
      if (settled) return;
      finish();
      reject(new FailedPreconditionError(`${spec.file} did not start: ${error.message}`));
    });
    // 'close': the script exited and every holder of its output pipes (children included) let go.
    child.once('close', (code, signal) => {
      if (settled) return;
      finish();
      const durationMs = Math.round(performance.now() - started);
      // A killed run answers once its whole group is gone, so "timed out" means nothing of it still runs.
      void Promise.resolve(ending).then(() =>
        resolve({
          exit_code: code,
          signal,
          duration_ms: durationMs,
          stdout: stdout.text(),
          stderr: stderr.text(),
          truncated: stdout.cut || stderr.cut,
          timed_out: timedOut,
        }),
      );
    });
  });
}
