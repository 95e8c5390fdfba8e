// `boxfleet hub` as an operator starts it for real: serving HTTPS with its own certificate, naming
// its public URL, pointing out a mistyped variable, and keeping its data dir and every file in it
// readable by its own user only.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import selfsigned from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const CLI = path.resolve('dist/cli.js');
const PUBLIC = 'https://panel.example.com';

/** A self-signed certificate for 127.0.0.1, which the test trusts as its own CA. */
async function certificate(): Promise<{ cert: string; key: string }> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'boxfleet test hub' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A JSON request over HTTPS that trusts only `ca`. */
function request(ca: string, method: string, url: string, body?: object, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined }));
    });
    req.once('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/** Every folder and file under `dir` with its permission bits. */
async function modes(dir: string): Promise<{ path: string; dir: boolean; mode: number }[]> {
  const found = [{ path: dir, dir: true, mode: (await stat(dir)).mode & 0o777 }];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    found.push({ path: path.relative(dir, full), dir: entry.isDirectory(), mode: (await stat(full)).mode & 0o777 });
  }
  return found;
}

describe('boxfleet hub started by an operator', () => {
  let tmp: string;
  let dataDir: string;
  let tls: { cert: string; key: string; certFile: string; keyFile: string };
  let hub: ChildProcess;
  let output = '';
  let url: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-hubstart-'));
    dataDir = path.join(tmp, 'data');
    const pems = await certificate();
    tls = { ...pems, certFile: path.join(tmp, 'hub.crt'), keyFile: path.join(tmp, 'hub.key') };
    await writeFile(tls.certFile, pems.cert);
    await writeFile(tls.keyFile, pems.key, { mode: 0o600 });
    const args = ['hub', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--log-file', path.join(dataDir, 'hub.log')];
    hub = spawn(process.execPath, [CLI, ...args, '--tls-cert', tls.certFile, '--tls-key', tls.keyFile, '--public-url', PUBLIC], {
      env: { PATH: process.env.PATH, BOXFLEET_PROT: '8443', BOXFLEET_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    hub.stdout!.on('data', (chunk) => (output += chunk));
    hub.stderr!.on('data', (chunk) => (output += chunk));
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not listening within 20 s:\n${output}`)), 20_000);
      hub.stdout!.on('data', () => {
        const listening = /^boxfleet hub listening on (\S+)/m.exec(output);
        if (listening) (clearTimeout(timer), resolve(listening[1]!));
      });
      hub.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
    });
  });

  afterAll(async () => {
    if (hub && hub.exitCode === null) {
      const exited = new Promise((resolve) => hub.once('exit', resolve));
      hub.kill('SIGTERM');
      await exited;
    }
    await rm(tmp, { recursive: true, force: true });
  });

  it('serves HTTPS with the given certificate and says where, with its public URL', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(output).toContain(`boxfleet hub listening on ${url} (public URL ${PUBLIC})`);
    expect(await request(tls.cert, 'GET', `${url}/health`)).toEqual({ status: 200, json: { status: 'ok' } });
  });

  it('warns about a BOXFLEET_ variable that is no setting, naming the one it resembles', () => {
    expect(output).toContain('BOXFLEET_PROT is not a hub setting and is ignored; did you mean BOXFLEET_PORT?');
  });

  it('keeps its data dir 0700 and every file in it (database, config versions, log) 0600', async () => {
    const { stdout } = await exec(process.execPath, [CLI, 'admin', 'create', '--username', 'root', '--data-dir', dataDir]);
    const password = /with password (\S+)$/m.exec(stdout)![1]!;
    const { json: session } = await request(tls.cert, 'POST', `${url}/api/v1/auth/login`, { username: 'root', password });
    const saved = await request(
      tls.cert,
      'POST',
      `${url}/api/v1/configs`,
      { config: { log: { level: 'warn' }, inbounds: [{ type: 'vless', tag: 'in', listen: '::', listen_port: 443 }], outbounds: [{ type: 'direct', tag: 'direct' }] } },
      { authorization: `Bearer ${session.token}` },
    );
    expect(saved.status).toBe(201);

    const found = await modes(dataDir);
    const names = found.map((f) => f.path);
    for (const name of ['boxfleet.sqlite', 'boxfleet.sqlite-wal', 'boxfleet.sqlite-shm', 'hub.log', 'objects/configs']) expect(names).toContain(name);
    expect(names.some((n) => /^objects\/configs\/[0-9a-f]{64}\.json$/.test(n)), names.join(', ')).toBe(true);
    expect(found.filter((f) => (f.dir ? f.mode !== 0o700 : f.mode !== 0o600)).map((f) => `${f.path} ${f.mode.toString(8)}`)).toEqual([]);
  });
});

describe('boxfleet hub with bad TLS settings', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-badtls-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const refused = (args: string[]) =>
    exec(process.execPath, [CLI, 'hub', '--host', '127.0.0.1', '--port', '0', '--data-dir', path.join(tmp, 'data'), ...args], { env: { PATH: process.env.PATH } }).then(
      ({ stdout }) => {
        throw new Error(`started:\n${stdout}`);
      },
      (error: { code: number; stderr: string }) => error,
    );

  it('refuses to start with a certificate but no key', async () => {
    const { cert } = await certificate();
    await writeFile(path.join(tmp, 'hub.crt'), cert);
    expect(await refused(['--tls-cert', path.join(tmp, 'hub.crt')])).toMatchObject({
      code: 1,
      stderr: 'boxfleet: tls_key (--tls-key or BOXFLEET_TLS_KEY): HTTPS needs both tls_cert and tls_key; set the other one too, or neither\n',
    });
  });

  it('refuses to start with a key it cannot read, or one that is not the certificate’s', async () => {
    const { cert } = await certificate();
    const other = await certificate();
    await writeFile(path.join(tmp, 'hub.crt'), cert);
    await writeFile(path.join(tmp, 'other.key'), other.key);
    const missing = path.join(tmp, 'missing.key');
    const unreadable = await refused(['--tls-cert', path.join(tmp, 'hub.crt'), '--tls-key', missing]);
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toMatch(new RegExp(`^boxfleet: tls_key \\(--tls-key or BOXFLEET_TLS_KEY\\): cannot read ${missing}: ENOENT`));
    const mismatched = await refused(['--tls-cert', path.join(tmp, 'hub.crt'), '--tls-key', path.join(tmp, 'other.key')]);
    expect(mismatched.code).toBe(1);
    expect(mismatched.stderr).toMatch(/^boxfleet: tls_cert \(--tls-cert or BOXFLEET_TLS_CERT\) and tls_key \(--tls-key or BOXFLEET_TLS_KEY\): not a PEM certificate and its private key \(.*key values mismatch/);
  });
});
