// Starts the hub: builds the app, listens, and closes gracefully on SIGINT/SIGTERM.
import { createLogger } from '../agent-core/common/logger.js';
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

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info('hub shutting down');
      await app.close();
      await flushTracing();
      logger.close();
    })());
  const onSignal = () => void close().then(() => process.exit(0));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { url, close };
}
