// The log pipeline as an operator runs it: the built hub and agent processes each write over
// 2,000 lines a second (their numbered debug load, `log_load_test_lines_per_s`, each tick in a
// trace) to files in one folder; the real logrotate rotates them 5 times with the shipped
// deploy/logrotate/boxfleet (-f), the processes reopen their files on its signals, and the
// OpenTelemetry Collector built from its Go modules (deploy/otelcol/build.sh) runs the shipped
// deploy/otelcol/config.yaml. Every line the processes wrote reaches the collector's output
// exactly once, parsed: timestamp, level, message, trace id, service.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, freePort, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { until } from '../support/until.js';

const exec = promisify(execFile);
const RATE = 2100;
const ROTATIONS = 5;
const ROTATE_EVERY_MS = 4000;

const collectorBin = () => process.env.BOXFLEET_OTELCOL_BIN ?? execFileSync('bash', ['deploy/otelcol/build.sh'], { encoding: 'utf8' }).trim();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Line {
  service: string;
  seq: number;
  timestamp: string;
  level: string;
  message: string;
  traceId: string | undefined;
}

/** What the processes wrote: the live files, logrotate's plain newest one and its gzipped older ones. */
async function writtenLines(dir: string): Promise<Line[]> {
  const lines: Line[] = [];
  for (const name of await readdir(dir)) {
    if (!/^(hub|agent)\.log/.test(name)) continue;
    const raw = await readFile(path.join(dir, name));
    const text = name.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    for (const json of text.split('\n').filter(Boolean)) {
      const line = JSON.parse(json);
      if (line.message !== 'log load test') continue;
      lines.push({ service: line['service.name'], seq: line.seq, timestamp: line['@timestamp'], level: line['log.level'], message: line.message, traceId: line['trace.id'] });
    }
  }
  return lines;
}

/**
 * What the collector delivered: OTLP JSON, one export request a line. Read while the collector
 * writes, so only whole lines count: its exporter flushes in 4 KiB pieces, and a line cut at such a
 * piece is read again once it is complete.
 */
async function deliveredLines(file: string): Promise<Line[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines: Line[] = [];
  for (const json of text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean)) {
    for (const resource of JSON.parse(json).resourceLogs) {
      const service = resource.resource.attributes.find((a: { key: string }) => a.key === 'service.name')?.value.stringValue;
      for (const scope of resource.scopeLogs) {
        for (const record of scope.logRecords) {
          const attr = (key: string) => record.attributes.find((a: { key: string }) => a.key === key)?.value;
          if (record.body?.stringValue !== 'log load test') continue;
          lines.push({
            service,
            seq: attr('seq')?.doubleValue ?? Number(attr('seq')?.intValue),
            // Parsed, not the receive time: the record's own time, back in the form the line wrote it.
            timestamp: new Date(Number(BigInt(record.timeUnixNano) / 1_000_000n)).toISOString(),
            level: record.severityText,
            message: record.body.stringValue,
            traceId: attr('trace.id')?.stringValue,
          });
        }
      }
    }
  }
  return lines;
}

const key = (line: Line) => `${line.service}#${line.seq}`;

describe('log shipping through rotation (logrotate + OpenTelemetry Collector)', () => {
  let dir: string;
  let collector: ChildProcess;
  let hub: ChildProcess;
  let agent: AgentProcess;
  const output = () => path.join(dir, 'shipped', 'logs.jsonl');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-logship-'));
    const logs = path.join(dir, 'logs');
    // A collector port nobody listens on: tracing gives the lines trace ids; the segments go nowhere.
    const traceSink = `127.0.0.1:${await freePort()}`;
    collector = spawn(collectorBin(), ['--config', path.resolve('deploy/otelcol/config.yaml')], {
      env: { ...process.env, BOXFLEET_LOG_DIR: logs, BOXFLEET_OTELCOL_OUTPUT: output() },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    hub = spawn(process.execPath, [CLI, 'hub', '--port', '0', '--host', '127.0.0.1', '--data-dir', path.join(dir, 'hub')], {
      env: {
        ...process.env,
        BOXFLEET_LOG_FILE: path.join(logs, 'hub.log'),
        BOXFLEET_LOG_LEVEL: 'debug',
        BOXFLEET_LOG_LOAD_TEST_LINES_PER_S: String(RATE),
        BOXFLEET_SKYWALKING_COLLECTOR: traceSink,
        BOXFLEET_JOBS_ENABLED: 'false',
      },
      // Standard error carries the same lines; the files are what this test is about.
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let hubOut = '';
    hub.stdout!.on('data', (chunk) => (hubOut += chunk));
    agent = await startAgentProcess({
      nodeId: 'logship-1',
      discardStderr: true,
      configure: (config) => {
        config.log = { level: 'debug', file: path.join(logs, 'agent.log'), load_test_lines_per_s: RATE };
        config.tracing = { collector: traceSink };
      },
    });
    await until('the hub to listen', () => hubOut.includes('listening on'), 20_000);
  }, 60_000);

  afterAll(async () => {
    for (const child of [hub, collector]) if (child && child.exitCode === null) child.kill('SIGKILL');
    await agent?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`delivers every line exactly once, parsed, while logrotate rotates the files ${ROTATIONS} times`, async () => {
    const logs = path.join(dir, 'logs');
    // The shipped config, with this test's folder, its processes and its user in place of the
    // installed ones; everything else (rotate, compress, delaycompress, create) as shipped.
    let config = await readFile('deploy/logrotate/boxfleet', 'utf8');
    const replace = (from: string, to: string) => {
      expect(config).toContain(from);
      config = config.replaceAll(from, to);
    };
    replace('/var/log/boxfleet/', `${logs}/`);
    replace('systemctl kill --kill-whom=main --signal=SIGHUP boxfleet-hub.service', `kill -HUP ${hub.pid}`);
    replace('systemctl kill --kill-whom=main --signal=SIGUSR1 boxfleet-agent.service', `kill -USR1 ${agent.child.pid}`);
    replace('su boxfleet boxfleet', 'su root root');
    expect(config).not.toMatch(/^\s*copytruncate/m);
    const conf = path.join(dir, 'logrotate.conf');
    await writeFile(conf, config, { mode: 0o644 });

    const started = Date.now();
    for (let i = 0; i < ROTATIONS; i++) {
      await sleep(ROTATE_EVERY_MS);
      await exec('logrotate', ['-f', '-s', path.join(dir, 'logrotate.state'), conf], { env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    }
    await sleep(ROTATE_EVERY_MS);
    // Stopped by SIGTERM as systemd stops them: each writes what it buffered before it exits.
    const exited = [hub, agent.child].map((child) => new Promise((resolve) => child.once('exit', resolve)));
    hub.kill('SIGTERM');
    agent.child.kill('SIGTERM');
    await Promise.all(exited);
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeGreaterThan((ROTATIONS * ROTATE_EVERY_MS) / 1000);

    const names = await readdir(logs);
    expect(names.filter((n) => n.startsWith('agent.log')).sort()).toEqual(['agent.log', 'agent.log.1', ...[2, 3, 4, 5].map((n) => `agent.log.${n}.gz`)]);
    expect(names.filter((n) => n.startsWith('hub.log')).sort()).toEqual(['hub.log', 'hub.log.1', ...[2, 3, 4, 5].map((n) => `hub.log.${n}.gz`)]);

    const written = await writtenLines(logs);
    const rates: Record<string, number> = {};
    for (const service of ['boxfleet-hub', 'boxfleet-agent']) {
      const own = written.filter((l) => l.service === service);
      const seqs = own.map((l) => l.seq).sort((a, b) => a - b);
      // Nothing lost across the renames: the files hold 1..n, each once.
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      // The rate over the lines' own first and last timestamps.
      const times = own.map((l) => Date.parse(l.timestamp));
      rates[service] = Math.round(seqs.length / ((Math.max(...times) - Math.min(...times)) / 1000));
      expect(rates[service]).toBeGreaterThanOrEqual(2000);
    }
    console.log(`log shipping: ${written.length} lines, ${seconds.toFixed(1)} s of rotations, lines/s ${JSON.stringify(rates)}, ${ROTATIONS} rotations`);

    await until('the collector to deliver every line', async () => (await deliveredLines(output())).length >= written.length, 30_000);
    await sleep(1500); // a duplicate would arrive with the last batch or after it
    const delivered = await deliveredLines(output());
    expect(delivered.length).toBe(written.length);
    const byKey = new Map(delivered.map((line) => [key(line), line]));
    expect(byKey.size).toBe(delivered.length);
    for (const line of written) {
      const shipped = byKey.get(key(line));
      expect(shipped, key(line)).toEqual(line);
      expect(line.traceId, key(line)).toMatch(/\S/);
      expect(line.level).toBe('debug');
    }
  }, 120_000);
});
