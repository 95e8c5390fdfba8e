// A MariaDB server of the test's own (Debian's mariadbd, started the way .ci/run starts the shared
// one): its own datadir and a free loopback port, so a fault test can stop it, kill it and start it
// again on the same port and data while a hub uses it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './agent-process.js';
import { until } from './until.js';

const run = promisify(execFile);

export interface TestMariaDb {
  /** mysql://boxfleet:boxfleet@127.0.0.1:<port>, for BOXFLEET_TEST_MYSQL_URL. */
  url: string;
  /** SIGKILL (a crash) or SIGTERM (a clean shutdown); resolves once the server is gone. */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts it again on the same port and datadir; resolves once it answers. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startMariaDb(): Promise<TestMariaDb> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-mdb-faultshost-'));
  const data = path.join(dir, 'data');
  await mkdir(data);
  // mariadbd drops to the mysql user, which must own its folder (this one only, never /tmp).
  const [uid, gid] = await Promise.all(['-u', '-g'].map(async (flag) => Number((await run('id', [flag, 'mysql'])).stdout.trim())));
  await chown(dir, uid!, gid!);
  await chown(data, uid!, gid!);
  await run('mariadb-install-db', ['--user=mysql', `--datadir=${data}`, '--auth-root-authentication-method=socket', '--skip-test-db']);
  const port = await freePort();
  const socket = path.join(dir, 'mysqld.sock');
  let child: ChildProcess | undefined;

  const ping = () => run('mariadb-admin', [`--socket=${socket}`, 'ping']).then(() => true, () => false);
  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    child = spawn(
      'mariadbd',
      ['--user=mysql', `--datadir=${data}`, `--socket=${socket}`, `--pid-file=${path.join(dir, 'mysqld.pid')}`, `--port=${port}`, '--bind-address=127.0.0.1', `--log-error=${path.join(dir, 'error.log')}`, '--skip-log-bin'],
      { stdio: 'ignore' },
    );
    await until('mariadbd answering', async () => {
      if (child?.exitCode !== null) throw new Error(`mariadbd exited:\n${await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '')}`);
      return ping();
    }, 60_000);
  };
  const stop = async (signal: 'SIGKILL' | 'SIGTERM' = 'SIGTERM') => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  };

  await start();
  await run('mariadb', [`--socket=${socket}`, '-uroot', '-e', "CREATE USER 'boxfleet'@'127.0.0.1' IDENTIFIED BY 'boxfleet'; GRANT ALL PRIVILEGES ON *.* TO 'boxfleet'@'127.0.0.1';"]);
  return {
    url: `mysql://boxfleet:boxfleet@127.0.0.1:${port}`,
    stop,
    start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
