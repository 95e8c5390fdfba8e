// Whether users can reach a node, as the hub sees it from outside: which of the node's inbounds to
// check (the ones /sub hands out, at the host and port clients dial), and the rule that turns
// check results into the node's health. Pure: the probing is hub/inbound-probe.ts, the schedule
// and storage hub/jobs/inbound-check.ts.
import { entryTemplates, type EntryNode } from './subscriptions/entries.js';

/** What one check does: a TCP connect; plus a TLS handshake; a TCP connect only for REALITY (see probeOf). */
export type ProbeKind = 'tcp' | 'tls' | 'reality';

export interface InboundTarget {
  /** The inbound's tag in the base config (or type:port when it has none). */
  tag: string;
  host: string;
  port: number;
  probe: ProbeKind;
  /** TLS: the SNI clients send, their ALPN, and the pinned certificate's SHA-256 (hex) when the config carries one inline. */
  serverName?: string;
  alpn?: string[];
  certificateSha256?: string;
}

/** QUIC inbounds: a TCP connect or a TLS-over-TCP handshake would say nothing about them. */
const UDP_ONLY = new Set(['hysteria2', 'tuic']);

/**
 * The node's client-facing inbounds as /sub gives them out (entries.ts decides host, port and
 * TLS), one target per inbound. A REALITY inbound is checked by TCP connect only: a handshake
 * without the REALITY key is passed on to the camouflage site, so it would test that site's
 * reachability from the node rather than the inbound, and fail whenever the site blocks the node.
 */
export function inboundTargets(node: EntryNode, config: Record<string, unknown>): InboundTarget[] {
  const targets = new Map<string, InboundTarget>();
  for (const { entry, inbound } of entryTemplates([{ node, config }], [])) {
    if (UDP_ONLY.has(entry.type)) continue;
    const tag = typeof inbound.tag === 'string' && inbound.tag !== '' ? inbound.tag : `${entry.type}:${entry.port}`;
    const tls = entry.tls;
    const probe: ProbeKind = !tls ? 'tcp' : tls.reality ? 'reality' : 'tls';
    targets.set(tag, {
      tag,
      host: entry.server,
      port: entry.port,
      probe,
      ...(probe === 'tls' ? { serverName: tls!.server_name, alpn: tls!.alpn, certificateSha256: tls!.certificate_sha256 } : {}),
    });
  }
  return [...targets.values()];
}

export interface InboundHealth {
  /** Checks in a row in which some inbound failed / every inbound answered. */
  failed: number;
  good: number;
  /** Null: healthy. */
  unhealthySince: number | null;
}

export interface HealthThresholds {
  /** inbound_unhealthy_after */
  unhealthyAfter: number;
  /** inbound_healthy_after */
  healthyAfter: number;
}

/**
 * The node's health after one more check: unhealthy after `unhealthyAfter` failed checks in a
 * row, healthy again after `healthyAfter` good ones in a row; a check that breaks a run starts
 * the other count from one, so a node that flaps stays as it was.
 */
export function nextInboundHealth(previous: InboundHealth, ok: boolean, now: number, { unhealthyAfter, healthyAfter }: HealthThresholds): InboundHealth {
  if (ok) {
    const good = previous.good + 1;
    const recovered = previous.unhealthySince !== null && good >= healthyAfter;
    return { failed: 0, good, unhealthySince: recovered ? null : previous.unhealthySince };
  }
  const failed = previous.failed + 1;
  const fails = previous.unhealthySince === null && failed >= unhealthyAfter;
  return { failed, good: 0, unhealthySince: fails ? now : previous.unhealthySince };
}
