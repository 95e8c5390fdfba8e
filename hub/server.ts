// Starts the hub: builds the app, listens, and closes gracefully on SIGINT/SIGTERM. SIGHUP reopens
// the log file (logrotate's postrotate); SIGUSR2 switches the log level to debug and back.
import { createLogger, type RootLogger } from '../agent-core/common/logger.js';
import { startLogLoad } from '../agent-core/common/log-load.js';
import { flushTracing } from '../agent-core/common/tracing.js';
import { buildApp } from './app.js';
import { unknownVariables, type HubConfig } from './config.js';
import { Admin } from './db/models.js';
import { privateDir } from './private-files.js';

export async function startHub(config: HubConfig): Promise<{ url: string; close(): Promise<void> }> {
  const logger = createLogger({ service: 'hub', level: config.log_level, file: config.log_file || undefined });
  // A mistyped variable would otherwise leave its setting at the default without a word.
  for (const { name, suggestion } of unknownVariables(process.env)) {
    logger.warn(`${name} is not a hub setting and is ignored${suggestion ? `; did you mean ${suggestion}?` : ''}`, { variable: name, suggestion });
  }
  const loose = await privateDir(config.data_dir);
  if (loose) logger.warn(`data dir ${loose}`, { data_dir: config.data_dir });
  const app = await buildApp({ config, logger });
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `${config.tls_cert ? 'https' : 'http'}://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  logger.info('hub listening', {
    url,
    public_url: config.public_url || undefined,
    database: config.database_url ? 'mysql' : 'sqlite',
    data_dir: config.data_dir,
  });
  if (!(await Admin.query().first())) {
    logger.warn('no admin account yet: create the first owner with `npx boxfleet admin create --username <name>` (same --data-dir / --database-url as the hub)');
  }

  // Once the hub is up: a start that fails must not be kept alive by the load's timer.
  const stopLogLoad = config.log_load_test_lines_per_s > 0 ? startLogLoad(logger, config.log_load_test_lines_per_s) : undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info('hub shutting down');
      stopLogLoad?.();
      process.off('SIGHUP', onHup);
      process.off('SIGUSR2', onUsr2);
      await app.close();
      await flushTracing();
      await logger.close();
    })());
  const onSignal = () => void close().then(() => process.exit(0));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const onHup = () => logger.reopen();
  process.on('SIGHUP', onHup);
  const onUsr2 = debugToggle(logger);
  process.on('SIGUSR2', onUsr2);
  return { url, close };
}

/** Debug on, and on the next signal back to the level it was switched from (the API may have set it). */
function debugToggle(logger: RootLogger): () => void {
  let before = logger.level === 'debug' ? 'info' : logger.level;
  return () => {
    const next = logger.level === 'debug' ? before : 'debug';
    if (next === 'debug') before = logger.level;
    logger.level = next;
    logger.warn('log level changed by SIGUSR2', { new_level: next });
  };
}
