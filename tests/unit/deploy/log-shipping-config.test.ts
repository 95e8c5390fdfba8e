// The shipped log pipeline files agree with each other and with what the processes write: Filebeat
// and the index template cannot run here (Filebeat cannot be built from its modules), so their
// structure and field names are checked against real log lines; the OpenTelemetry Collector config
// runs for real in tests/e2e/log-shipping.otelcol.test.ts.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ecsLine } from '../../../agent-core/common/ecs.js';

const read = (file: string) => readFile(file, 'utf8');

/** The log files logrotate rotates, each with the signal its postrotate sends. */
async function rotated(): Promise<{ file: string; body: string }[]> {
  const text = await read('deploy/logrotate/boxfleet');
  return [...text.matchAll(/^(\/\S+) \{\n([\s\S]*?)^\}/gm)].map((m) => ({ file: m[1]!, body: m[2]! }));
}

/** Field names as the lines carry them (dotted), from the function that writes every line. */
function writtenFields(): string[] {
  const lines = [
    ecsLine({ level: 'error', message: 'job failed', service: 'boxfleet-hub', fields: {}, meta: { error: new Error('boom') }, traceId: 'a1.2.3' }),
    ecsLine({ level: 'debug', message: 'log load test', service: 'boxfleet-agent', fields: { node_id: 'n1' }, meta: { 'event.kind': 'event', 'event.action': 'log-load-test', seq: 1 } }),
  ];
  return [...new Set(lines.flatMap((line) => Object.keys(JSON.parse(line))))];
}

/** The mapping of a dotted field in an index template's properties. */
function mappingOf(properties: Record<string, any>, field: string): { type?: string } | undefined {
  if (properties[field]) return properties[field];
  const [head, ...rest] = field.split('.');
  const object = properties[head!];
  return object?.properties && rest.length ? mappingOf(object.properties, rest.join('.')) : undefined;
}

describe('deploy/logrotate/boxfleet', () => {
  it('rotates both files by renaming, then signals each process to reopen (hub SIGHUP, agent SIGUSR1), keeping the newest rotated file plain', async () => {
    const blocks = await rotated();
    expect(blocks.map((b) => b.file)).toEqual(['/var/log/boxfleet/hub.log', '/var/log/boxfleet/agent.log']);
    for (const { body } of blocks) {
      expect(body).not.toMatch(/^\s*copytruncate/m);
      expect(body).toMatch(/^\s*delaycompress$/m);
      expect(body).toMatch(/^\s*create 0600$/m);
      expect(body).toMatch(/^\s*rotate \d+$/m);
      expect(body).toMatch(/^\s*maxsize \d+M$/m);
    }
    expect(blocks[0]!.body).toMatch(/postrotate\n\s*systemctl kill --kill-whom=main --signal=SIGHUP boxfleet-hub\.service/);
    expect(blocks[1]!.body).toMatch(/postrotate\n\s*systemctl kill --kill-whom=main --signal=SIGUSR1 boxfleet-agent\.service/);
  });
});

describe('deploy/filebeat', () => {
  it('reads each rotated file and its newest rotation with fingerprint identity, splitting the JSON into top-level ECS fields', async () => {
    const config = parse(await read('deploy/filebeat/filebeat.yml'));
    const files = (await rotated()).map((b) => b.file);
    const inputs = config['filebeat.inputs'] as Record<string, any>[];
    expect(new Set(inputs.map((i) => i.id)).size).toBe(inputs.length);
    expect(inputs.flatMap((i) => i.paths)).toEqual(files.flatMap((f) => [f, `${f}.1`]));
    for (const input of inputs) {
      expect(input.type).toBe('filestream');
      expect(input['prospector.scanner.fingerprint.enabled']).toBe(true);
      expect(input).toHaveProperty(['file_identity.fingerprint']);
      expect(input.parsers).toEqual([{ ndjson: expect.objectContaining({ target: '', expand_keys: true, overwrite_keys: true }) }]);
    }
  });

  it('indexes into a data stream whose template maps every field the processes write, under the ILM policy it ships', async () => {
    const config = parse(await read('deploy/filebeat/filebeat.yml'));
    const template = JSON.parse(await read('deploy/filebeat/boxfleet-index-template.json'));
    const policy = JSON.parse(await read('deploy/filebeat/boxfleet-ilm-policy.json'));

    expect(config['output.elasticsearch'].index).toMatch(new RegExp(`^${template.index_patterns[0].replace('*', '.*')}$`));
    expect(template.data_stream).toEqual({});
    expect(config['setup.template.json.data_stream']).toBe(true);
    expect(config['setup.template.json.path'].split('/').at(-1)).toBe('boxfleet-index-template.json');
    expect(config['setup.ilm.policy_file'].split('/').at(-1)).toBe('boxfleet-ilm-policy.json');
    expect(template.template.settings['index.lifecycle.name']).toBe(config['setup.ilm.policy_name']);

    const fields = writtenFields();
    expect(fields).toEqual(expect.arrayContaining(['@timestamp', 'log.level', 'message', 'service.name', 'trace.id', 'ecs.version', 'event.dataset', 'error.message', 'error.type', 'error.stack_trace']));
    for (const field of fields) expect(mappingOf(template.template.mappings.properties, field), field).toHaveProperty('type');
    expect(mappingOf(template.template.mappings.properties, '@timestamp')).toEqual({ type: 'date' });

    const { hot, delete: gone } = policy.policy.phases;
    expect(hot.actions.rollover).toMatchObject({ max_age: expect.any(String), max_primary_shard_size: expect.any(String) });
    expect(gone.actions).toEqual({ delete: {} });
  });
});

describe('deploy/otelcol/config.yaml', () => {
  it('tails the files logrotate rotates and parses the fields the processes write', async () => {
    const config = parse(await read('deploy/otelcol/config.yaml'));
    const receiver = config.receivers.file_log;
    const files = (await rotated()).map((b) => b.file);
    const include = (receiver.include as string[]).map((p) => p.replace('${env:BOXFLEET_LOG_DIR:-/var/log/boxfleet}', '/var/log/boxfleet'));
    expect(include).toEqual(files.flatMap((f) => [f, `${f}.1`]));

    const fields = writtenFields();
    const [json, ...moves] = receiver.operators as Record<string, any>[];
    const named = (from: string) => /^attributes(?:\["(.+)"\]|\.(.+))$/.exec(from)!.slice(1).find(Boolean)!;
    expect(fields).toContain(named(json!.timestamp.parse_from));
    expect(fields).toContain(named(json!.severity.parse_from));
    for (const move of moves) expect(fields).toContain(named(move.from));
    expect(config.service.pipelines.logs).toEqual({ receivers: ['file_log'], exporters: ['file'] });
  });
});
