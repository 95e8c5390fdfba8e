// The node's block rules: the hub's list (rules.sync, kept on disk and enforced from the start) plus
// the node's own from agent.yaml, each enforced where it can be: source addresses and the node's
// ports in an nftables table (nft.ts), destinations in a sing-box rule-set file that sing-box
// reloads by itself (rule-set.ts), and BitTorrent as a route rule for singbox-config. This file
// composes them and keeps one sync all-or-nothing across the layers.
import path from 'node:path';
import { definePlugin, InvalidArgumentError, Type, type PluginContext, type Static } from '../../agent-core/sdk.js';
import {
  BlockedPort,
  ipOrCidrFamily,
  ruleListProblems,
  RulesListInput,
  RulesListOutput,
  RulesSyncInput,
  RulesSyncOutput,
  SingboxContributionInput,
  SingboxContributionOutput,
  StatusInput,
  StatusOutput,
  type LayerOutcome,
  type Rule,
} from './contract.js';
import { applyNft, dropTable, tableState, type NftOutcome } from './nft.js';
import { localRules, plan, type Plan } from './plan.js';
import { checkRuleSet, RULE_SET_TAG, ruleSetSource, writeRuleSet } from './rule-set.js';
import { createServedCheck } from './served.js';
import { RulesStore, type Synced } from './store.js';

const Config = Type.Object({
  blocked_ips: Type.Array(Type.String({ minLength: 1, description: 'An IPv4/IPv6 address or CIDR.' }), { default: [] }),
  blocked_ports: Type.Array(BlockedPort, { default: [] }),
  block_bittorrent: Type.Boolean({ default: false }),
  // Passed to nft as an identifier, so keep to what nft accepts unquoted.
  table: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$', default: 'boxfleet' }),
});

const commands = {
  'rules.sync': {
    description: "The hub's block rules (the whole list). The same revision again does nothing; a list with a bad rule changes nothing.",
    input: RulesSyncInput,
    output: RulesSyncOutput,
    mutates: true,
    // Desired state owned by the hub, like singbox-config's users.sync.
    role: 'admin' as const,
    // A BitTorrent switch reloads sing-box (up to singbox-config's 60 s).
    timeoutMs: 90_000,
  },
  'rules.list': {
    description: "The rules in force: the hub's last synced list, then the node's own from agent.yaml (ids local:…).",
    input: RulesListInput,
    output: RulesListOutput,
  },
  status: {
    description: 'Whether each layer enforces its rules: the nftables table, the rule-set file and whether sing-box read it, BitTorrent, the last refused sync.',
    input: StatusInput,
    output: StatusOutput,
  },
  'singbox-contribution': {
    description: 'The route rules and rule-set singbox-config serves: reject what the block rule-set matches, and BitTorrent when blocked.',
    input: SingboxContributionInput,
    output: SingboxContributionOutput,
  },
};

type Ctx = PluginContext<Static<typeof Config>, Record<never, never>>;

/** How long, after a start, to wait for singbox-config to answer (it starts alongside). */
const START_WAIT_MS = 30_000;
const START_RETRY_MS = 1000;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const ruleSetOutcome = (p: Plan): LayerOutcome => (p.counts.ruleSet > 0 ? 'applied' : 'empty');

/** The sing-box side of a plan: what singbox-config renders into the route. */
function contribution(p: Plan, ruleSetPath: string): SingboxContributionOutput {
  return {
    // BitTorrent first: singbox-config puts these right after sniff, so the served config shows
    // whether the switch is in service by position, whatever the base config's own rules are.
    route_rules: [...(p.bittorrent ? [{ protocol: 'bittorrent', action: 'reject' }] : []), { rule_set: RULE_SET_TAG, action: 'reject' }],
    rule_sets: [{ type: 'local', tag: RULE_SET_TAG, format: 'source', path: ruleSetPath }],
  };
}

export default definePlugin({
  id: 'firewall',
  version: '0.2.0',
  agent: '>=0.1.0 <1',
  description: 'Block rules from the hub and agent.yaml: source IPs and ports in nftables, destinations in a sing-box rule-set, BitTorrent.',
  config: Config,
  commands,
  async start(ctx: Ctx) {
    const { table } = ctx.config;
    // JSON Schema has no CIDR format, so addresses are checked here, before the plugin runs.
    ctx.config.blocked_ips.forEach((value, i) => {
      if (ipOrCidrFamily(value) === 0) {
        throw new InvalidArgumentError(`plugins.firewall.blocked_ips.${i}: ${JSON.stringify(value)} is not an IP address or CIDR`);
      }
    });
    const local = localRules(ctx.config);
    const store = new RulesStore(ctx.stateDir);
    const ruleSetPath = path.join(ctx.stateDir, `${RULE_SET_TAG}.json`);
    let synced: Synced | undefined = await store.load();
    const stored = ruleListProblems([...(synced?.rules ?? []), ...local]);
    if (stored.length > 0) throw new InvalidArgumentError(`${store.file}: ${stored.join('; ')}`);

    let active = plan([...(synced?.rules ?? []), ...local]);
    let lastError: { at: string; revision: string; message: string } | null = null;
    const served = createServedCheck(ctx, ruleSetPath);

    // Enforce what the node had before the hub says anything: the file first (sing-box's config
    // names it), then the table. A table nft refuses leaves the node running with the rest.
    await writeRuleSet(ruleSetPath, ruleSetSource(active.ruleSet));
    let nftNow: NftOutcome = await applyNft(table, active.nft).catch((error: unknown) => {
      ctx.logger.error('could not apply the nftables rules at start', { error: messageOf(error) });
      lastError = { at: new Date().toISOString(), revision: synced?.revision ?? 'agent.yaml', message: messageOf(error) };
      return { outcome: 'unavailable', reason: messageOf(error) };
    });
    if (nftNow.outcome === 'unavailable') ctx.logger.warn(nftNow.reason);

    // One sync at a time; singbox-contribution stays outside, as a reload during a sync asks for it.
    let queue: Promise<unknown> = Promise.resolve();
    const serialize = <T>(work: () => Promise<T>): Promise<T> => {
      const run = queue.then(work);
      queue = run.catch(() => undefined);
      return run;
    };

    /** Puts `next` in place on both layers; on any failure puts `previous` back and throws. */
    async function enforce(next: Plan, previous: Plan): Promise<{ nft: NftOutcome; reloaded: boolean; ruleSetChanged: boolean }> {
      const content = ruleSetSource(next.ruleSet);
      // sing-box first: it only logs a file it refuses, and would keep the old rules unseen.
      const binary = await served.binary();
      if (binary) await checkRuleSet(binary, ruleSetPath, content, next.ruleSet);
      const nft = await applyNft(table, next.nft);
      let ruleSetChanged = false;
      try {
        ruleSetChanged = await writeRuleSet(ruleSetPath, content);
        active = next;
        const reloaded = await served.reloadIfOutOfStep(contribution(next, ruleSetPath));
        return { nft, reloaded, ruleSetChanged };
      } catch (error) {
        active = previous;
        await writeRuleSet(ruleSetPath, ruleSetSource(previous.ruleSet)).catch((e: unknown) =>
          ctx.logger.error('could not put the previous rule-set file back', { error: messageOf(e) }),
        );
        await applyNft(table, previous.nft).catch((e: unknown) =>
          ctx.logger.error('could not put the previous nftables table back', { error: messageOf(e) }),
        );
        throw error;
      }
    }

    const nftWarnings = () => (nftNow.outcome === 'unavailable' ? [nftNow.reason] : []);

    async function sync(input: RulesSyncInput): Promise<RulesSyncOutput> {
      if (synced?.revision === input.revision) {
        return { revision: input.revision, changed: false, nftables: nftNow.outcome, rule_set: ruleSetOutcome(active), singbox_reloaded: false, warnings: nftWarnings() };
      }
      try {
        const all: Rule[] = [...input.rules, ...local];
        const problems = ruleListProblems(all);
        if (problems.length > 0) throw new InvalidArgumentError(problems.join('; '));
        const next = plan(all);
        const previous = active;
        const result = await enforce(next, previous);
        const record: Synced = { revision: input.revision, synced_at: new Date().toISOString(), rules: input.rules };
        await store.save(record);
        synced = record;
        nftNow = result.nft;
        lastError = null;
        const warnings = nftWarnings();
        if (result.ruleSetChanged) {
          const read = await served.waitForRead();
          if (read) warnings.push(read);
        }
        return {
          revision: input.revision,
          changed: true,
          nftables: nftNow.outcome,
          rule_set: ruleSetOutcome(next),
          singbox_reloaded: result.reloaded,
          warnings,
        };
      } catch (error) {
        lastError = { at: new Date().toISOString(), revision: input.revision, message: messageOf(error) };
        throw error;
      }
    }

    // The served config may predate this plugin's rule-set (a node upgraded) or its BitTorrent
    // switch (agent.yaml changed): once singbox-config answers, one checked reload brings it in step.
    const settled = (async () => {
      for (let waited = 0; !(await served.answers()); waited += START_RETRY_MS) {
        if (waited >= START_WAIT_MS || ctx.signal.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, START_RETRY_MS));
      }
      if (ctx.signal.aborted) return;
      await serialize(async () => {
        if (await served.reloadIfOutOfStep(contribution(active, ruleSetPath))) ctx.logger.info('sing-box reloaded to serve the firewall rules');
      });
    })().catch((error: unknown) => ctx.logger.error('could not bring the served config in step with the firewall rules', { error: messageOf(error) }));

    return {
      commands: {
        'rules.sync': (input) => serialize(() => sync(input)),

        'rules.list': async () => ({
          revision: synced?.revision ?? null,
          synced_at: synced?.synced_at ?? null,
          rules: [...(synced?.rules ?? []), ...local],
        }),

        async status() {
          const state = await tableState(table);
          const nftRules = active.counts.nft;
          const message =
            nftRules === 0 && state.available
              ? `no source-IP or port rules, so no table inet ${table}${state.table_present ? ' (but one is there)' : ''}`
              : state.message;
          const ruleSet = await served.loaded();
          return {
            revision: synced?.revision ?? null,
            table,
            nftables: { ...state, rules: state.table_present ? nftRules : 0, message },
            rule_set: { path: ruleSetPath, rules: active.counts.ruleSet, ...ruleSet },
            bittorrent_blocked: active.bittorrent,
            last_error: lastError,
          };
        },

        'singbox-contribution': async () => contribution(active, ruleSetPath),
      },

      async stop() {
        await settled;
        await queue;
        // A stopped or disabled firewall blocks nothing at the kernel; the rule-set file stays for
        // sing-box's served config, which names it.
        const problem = await dropTable(table);
        if (problem) ctx.logger.error('could not remove the nftables table', { table, error: problem });
      },
    };
  },
});
