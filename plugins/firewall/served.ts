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
  /** Whether singbox-config answers (true when it is not on this node: nothing to wait for). */
  answers(): Promise<boolean>;
  /** The sing-box binary singbox-config runs, to check a rule-set with; undefined without one. */
  binary(): Promise<string | undefined>;
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

  interface Served {
    running: boolean;
    found: boolean;
    binary: string | undefined;
    /** The served config's route, or undefined when singbox-config serves none. */
    route: { rules: unknown[]; ruleSets: unknown[] } | undefined;
  }

  // The served route by the served config's hash: config.get returns the whole config (every
  // user), so it is asked only when what sing-box serves has changed.
  let cached: { hash: string; route: Served['route'] } | undefined;

  /** What singbox-config serves, or undefined when it is not on this node. */
  async function served(): Promise<Served | undefined> {
    type Status = { running?: boolean; found?: boolean; binary?: string | null; config?: { rendered_hash?: string | null } };
    const state = await ask<Status>('singbox-config.status');
    if (!state) return undefined;
    const hash = state.config?.rendered_hash ?? undefined;
    let route = hash !== undefined && cached?.hash === hash ? cached.route : undefined;
    if (route === undefined) {
      const got = await ask<{ rendered: unknown }>('singbox-config.config.get');
      const config = got && isObject(got.rendered) ? got.rendered : undefined;
      const r = config && (isObject(config.route) ? config.route : {});
      route = r && { rules: Array.isArray(r.rules) ? r.rules : [], ruleSets: Array.isArray(r.rule_set) ? r.rule_set : [] };
      if (hash !== undefined) cached = { hash, route };
    }
    return { running: state.running === true, found: state.found === true, binary: state.binary ?? undefined, route };
  }

  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

  const listsRuleSet = (route: NonNullable<Served['route']>) =>
    route.ruleSets.some((entry) => isObject(entry) && entry.tag === RULE_SET_TAG && entry.path === ruleSetPath);

  return {
    async answers() {
      return served().then(
        () => true,
        () => false,
      );
    },

    async binary() {
      const now = await served();
      return now?.found ? now.binary : undefined;
    },

    async reloadIfOutOfStep(wanted) {
      const route = (await served())?.route;
      if (!route) return false;
      // singbox-config puts contributed rules right after the first rule (sniff).
      if (same(route.rules.slice(1, 1 + wanted.route_rules.length), wanted.route_rules) && listsRuleSet(route)) return false;
      await ctx.call('singbox-config.reload', {});
      return true;
    },

    async waitForRead() {
      const now = await served();
      if (!now?.running || !now.route || !listsRuleSet(now.route)) return undefined;
      const until = Date.now() + READ_WAIT_MS;
      while (Date.now() < until) {
        if (await readSinceWritten(ruleSetPath)) return undefined;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return `sing-box has not read the new ${ruleSetPath} within ${READ_WAIT_MS / 1000} s; see firewall.status`;
    },

    async loaded() {
      const now = await served().catch(() => undefined);
      if (!now?.running) return { loaded: null, message: 'sing-box is not running under singbox-config' };
      if (!now.route) return { loaded: null, message: 'singbox-config serves no config yet' };
      if (!listsRuleSet(now.route)) {
        return { loaded: false, message: `the config sing-box serves does not use ${ruleSetPath} yet (it will after singbox-config renders it again, e.g. its reload)` };
      }
      if (await readSinceWritten(ruleSetPath)) return { loaded: true, message: 'sing-box read the rule-set after it was last written' };
      const written = await stat(ruleSetPath).then((s) => s.mtime.toISOString(), () => 'never');
      return { loaded: false, message: `sing-box has not read the rule-set since it was written (${written}); a file system mounted noatime cannot tell` };
    },
  };
}
