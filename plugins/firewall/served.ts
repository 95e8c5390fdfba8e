// What sing-box serves, as far as the firewall is concerned, asked of singbox-config: whether the
// served config carries this plugin's route rules and rule-set (if not, a checked reload through
// singbox-config puts them in), and whether sing-box has read the current rule-set file.
import { stat } from 'node:fs/promises';
import { UnavailableError, type PluginContext } from '../../agent-core/sdk.js';
import type { SingboxContributionOutput } from './contract.js';
import { readSinceWritten, RULE_SET_TAG } from './rule-set.js';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** How long a sync waits for sing-box to read the new rule-set file (it reacts to the rename at once). */
const READ_WAIT_MS = 3000;

export interface ServedCheck {
  /** Reloads sing-box through singbox-config when what it serves lacks `wanted`; whether it did. */
  reloadIfOutOfStep(wanted: SingboxContributionOutput): Promise<boolean>;
  /** After a new file: waits until sing-box read it; a warning when it did not. */
  waitForRead(): Promise<string | undefined>;
  /** status.rule_set's `loaded` and `message`. */
  loaded(): Promise<{ loaded: boolean | null; message: string }>;
}

export function createServedCheck(ctx: PluginContext<unknown, Record<never, never>>, ruleSetPath: string): ServedCheck {
  /** singbox-config's answer, or undefined when it is not on this node (allowed: nothing to serve). */
  async function ask<T>(command: string): Promise<T | undefined> {
    try {
      return await ctx.call<T>(command, {});
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      if (status === 'NOT_FOUND' || status === 'FAILED_PRECONDITION') return undefined;
      throw new UnavailableError(`${command} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  /** The config sing-box serves, or undefined when singbox-config serves none. */
  async function rendered(): Promise<Json | undefined> {
    const got = await ask<{ rendered: unknown }>('singbox-config.config.get');
    return got && isObject(got.rendered) ? got.rendered : undefined;
  }

  function route(config: Json): { rules: unknown[]; ruleSets: unknown[] } {
    const r = isObject(config.route) ? config.route : {};
    return { rules: Array.isArray(r.rules) ? r.rules : [], ruleSets: Array.isArray(r.rule_set) ? r.rule_set : [] };
  }

  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

  function listsRuleSet(config: Json): boolean {
    return route(config).ruleSets.some((entry) => isObject(entry) && entry.tag === RULE_SET_TAG && entry.path === ruleSetPath);
  }

  return {
    async reloadIfOutOfStep(wanted) {
      const config = await rendered();
      if (!config) return false;
      // singbox-config puts contributed rules right after the first rule (sniff).
      const inService = same(route(config).rules.slice(1, 1 + wanted.route_rules.length), wanted.route_rules) && listsRuleSet(config);
      if (inService) return false;
      await ctx.call('singbox-config.reload', {});
      return true;
    },

    async waitForRead() {
      const state = await ask<{ running: boolean }>('singbox-config.status');
      if (!state?.running || !(await rendered().then((c) => c !== undefined && listsRuleSet(c)))) return undefined;
      const until = Date.now() + READ_WAIT_MS;
      while (Date.now() < until) {
        if (await readSinceWritten(ruleSetPath)) return undefined;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return `sing-box has not read the new ${ruleSetPath} within ${READ_WAIT_MS / 1000} s; see firewall.status`;
    },

    async loaded() {
      const state = await ask<{ running: boolean }>('singbox-config.status').catch(() => undefined);
      if (!state?.running) return { loaded: null, message: 'sing-box is not running under singbox-config' };
      const config = await rendered().catch(() => undefined);
      if (!config) return { loaded: null, message: 'singbox-config serves no config yet' };
      if (!listsRuleSet(config)) {
        return { loaded: false, message: `the config sing-box serves does not use ${ruleSetPath} yet (it will after singbox-config renders it again, e.g. its reload)` };
      }
      const read = await readSinceWritten(ruleSetPath);
      if (read) return { loaded: true, message: `sing-box read the rule-set after it was last written` };
      const written = await stat(ruleSetPath).then((s) => s.mtime.toISOString(), () => 'never');
      return { loaded: false, message: `sing-box has not read the rule-set since it was written (${written}); a file system mounted noatime cannot tell` };
    },
  };
}
