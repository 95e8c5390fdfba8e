// Shared by singbox-config.test.ts and singbox-config.singbox.test.ts.
import { createHarness, type Harness } from '../../../agent-core/harness.js';
import singboxConfig from '../../../plugins/singbox-config/index.js';

export interface Status {
  found: boolean;
  binary: string | null;
  version: string | null;
  tags: string[];
  config_path: string;
  message: string;
}

let harness: Harness | undefined;

/** Runs singbox-config.status with this `plugins.singbox-config` config; `closeHarness` (run it in afterEach) stops the plugin. */
export async function status(config: Record<string, unknown> = {}, commandTimeoutMs?: number): Promise<Status> {
  harness = await createHarness(singboxConfig, { config: { 'singbox-config': config }, commandTimeoutMs });
  return harness.execute<Status>('singbox-config.status');
}

export async function closeHarness(): Promise<void> {
  await harness?.close();
  harness = undefined;
}
