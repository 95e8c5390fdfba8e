// Unlock checks: does a streaming or AI service serve this node's IP. Each check is data (the
// bundled unlock-checks.json, merged with agent.yaml's `unlock.checks`), so its rules can follow a
// service's changes without a new agent. Loaded on the first run only: nothing of it sits in an
// idle agent.
import bundled from './unlock-checks.json' with { type: 'json' };
import { InvalidArgumentError } from '../../agent-core/sdk.js';
import type { UnlockCheck, UnlockReport, UnlockResult } from './contract.js';
import { httpRequest, type HttpAnswer } from '../../agent-core/sdk.js';

/** agent.yaml's overrides: a check's fields replace the bundled ones; null turns a check off; a new id adds one. */
export type CheckOverrides = Record<string, Partial<UnlockCheck> | null>;

/** The plugin's `unlock` task input: agent.yaml's overrides, the checks to run (all when absent), and each request's timeout. */
export interface UnlockTaskInput {
  checks: CheckOverrides;
  only?: readonly string[];
  timeout_ms: number;
}

/** Enough of a title page to hold what the rules look for; a larger body is cut there. */
const MAX_BODY = 2 * 2 ** 20;
const MAX_REDIRECTS = 5;
const REQUIRED = ['name', 'mark', 'requests', 'rules'] as const;

/** The checks in effect: the bundled ones with agent.yaml's overrides, in file order then added ones. */
export function mergedChecks(overrides: CheckOverrides): Map<string, Partial<UnlockCheck>> {
  const checks = new Map<string, Partial<UnlockCheck>>(Object.entries(bundled as unknown as Record<string, UnlockCheck>));
  for (const [id, override] of Object.entries(overrides)) {
    if (override === null) checks.delete(id);
    else checks.set(id, { ...checks.get(id), ...override });
  }
  return checks;
}

type Answer = { answer: HttpAnswer; error?: undefined } | { answer?: undefined; error: string };

const regex = (source: string) => new RegExp(source, 'im');

function decide(check: UnlockCheck, answers: Answer[]): { result: UnlockResult['result']; rule: string | null } {
  for (const rule of check.rules) {
    const answer = answers[rule.request ?? 0]?.answer;
    if (!answer) continue;
    const holds =
      (rule.status === undefined || regex(rule.status).test(String(answer.status))) &&
      (rule.location === undefined || answer.locations.some((l) => regex(rule.location!).test(l))) &&
      (rule.final_url === undefined || regex(rule.final_url).test(answer.finalUrl)) &&
      (rule.body === undefined || regex(rule.body).test(answer.body));
    if (holds) return { result: rule.result, rule: rule.name };
  }
  return { result: 'unknown', rule: null };
}

function regionOf(check: UnlockCheck, answers: Answer[]): string | null {
  for (const source of check.region ?? []) {
    const answer = answers[source.request ?? 0]?.answer;
    if (!answer) continue;
    const text = source.from === 'body' ? answer.body : source.from === 'final_url' ? answer.finalUrl : answer.locations.join('\n');
    const match = regex(source.regex).exec(text)?.[1];
    if (match) return match.toUpperCase();
  }
  return null;
}

async function runCheck(id: string, partial: Partial<UnlockCheck>, timeoutMs: number, signal: AbortSignal): Promise<UnlockResult> {
  const missing = REQUIRED.filter((field) => partial[field] === undefined);
  const unknown = (error: string): UnlockResult => ({
    id, name: partial.name ?? id, mark: partial.mark ?? id, result: 'unknown', region: null, evidence: { rule: null, error, requests: [] },
  });
  if (missing.length > 0) return unknown(`check ${id} has no ${missing.join(', ')} (agent.yaml unlock.checks)`);
  const check = partial as UnlockCheck;
  // One after the other: a later request may only make sense once an earlier one answered.
  const answers: Answer[] = [];
  for (const request of check.requests) {
    const options = { headers: request.headers, timeoutMs, signal, maxRedirects: request.follow_redirects === false ? 0 : MAX_REDIRECTS, maxBody: MAX_BODY };
    answers.push(await httpRequest(request.url, options).then((answer) => ({ answer }), (error: Error) => ({ error: error.message })));
  }
  try {
    const { result, rule } = decide(check, answers);
    const error = rule === null ? (answers.find((a) => a.error)?.error ?? 'no rule matched') : null;
    return {
      id, name: check.name, mark: check.mark, result, region: regionOf(check, answers),
      evidence: {
        rule, error,
        requests: check.requests.map((r, i) => ({
          url: r.url,
          status: answers[i]?.answer?.status ?? null,
          final_url: answers[i]?.answer?.finalUrl ?? null,
          error: answers[i]?.error ?? null,
        })),
      },
    };
  } catch (error) {
    return unknown(`check ${id}: ${(error as Error).message}`); // a rule's regex that does not compile
  }
}

/** Runs the checks (all, or those named), in parallel. */
export async function runUnlockChecks(overrides: CheckOverrides, only: readonly string[] | undefined, timeoutMs: number, signal: AbortSignal): Promise<UnlockReport> {
  const all = mergedChecks(overrides);
  const unknown = (only ?? []).filter((id) => !all.has(id));
  if (unknown.length > 0) throw new InvalidArgumentError(`input.checks: no check ${unknown.join(', ')} (there are ${[...all.keys()].join(', ')})`);
  const checks = [...all].filter(([id]) => !only || only.includes(id));
  const results = await Promise.all(checks.map(([id, check]) => runCheck(id, check, timeoutMs, signal)));
  return { checked_at: new Date().toISOString(), results };
}
