// The config editor's shortcuts for VLESS and REALITY inbounds: which inbounds of a config they
// apply to, and the config with REALITY keys or the Vision flow written into one of them. The hub's
// check at save (singbox-config's contract, visionProblem) is the authority; visionAllowed mirrors
// it only so that the editor does not offer what the hub would refuse.

type Json = Record<string, unknown>;

export const VISION_FLOW = 'xtls-rprx-vision';

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export interface InboundTool {
  /** Its place in `inbounds`. */
  index: number;
  /** Its tag, else `inbounds[i]`. */
  label: string;
  /** VLESS: it may take the Vision flow. */
  vless: boolean;
  /** It carries the Vision flow now. */
  vision: boolean;
  /** The hub would take the Vision flow on it: TLS (plain or REALITY), no transport, no multiplex. */
  visionAllowed: boolean;
}

/** A VLESS inbound on TLS without transport or multiplex: what the contract's visionProblem lets through. */
export function visionAllowed(inbound: Json): boolean {
  return (
    inbound.type === 'vless' &&
    isObject(inbound.tls) &&
    inbound.tls.enabled === true &&
    !isObject(inbound.transport) &&
    !(isObject(inbound.multiplex) && inbound.multiplex.enabled === true)
  );
}

const inboundsOf = (config: unknown): unknown[] => (isObject(config) && Array.isArray(config.inbounds) ? config.inbounds : []);

/** The inbounds the shortcuts apply to: every VLESS inbound, and any other with a `tls.reality` block. */
export function inboundTools(config: unknown): InboundTool[] {
  return inboundsOf(config).flatMap((inbound, index) => {
    if (!isObject(inbound)) return [];
    const vless = inbound.type === 'vless';
    if (!vless && !(isObject(inbound.tls) && isObject(inbound.tls.reality))) return [];
    const label = typeof inbound.tag === 'string' && inbound.tag !== '' ? inbound.tag : `inbounds[${index}]`;
    return [{ index, label, vless, vision: inbound.flow === VISION_FLOW, visionAllowed: visionAllowed(inbound) }];
  });
}

/** A copy of the config with inbound `index` changed by `edit`. */
function editInbound(config: unknown, index: number, edit: (inbound: Json) => Json): Json {
  const copy = structuredClone(config) as Json;
  const inbounds = inboundsOf(copy);
  inbounds[index] = edit(inbounds[index] as Json);
  return copy;
}

/**
 * The config with a REALITY private key and short id on inbound `index`; an inbound without a
 * REALITY block gets one, enabled, on enabled TLS (the admin adds the handshake target).
 */
export function withRealityKeys(config: unknown, index: number, keys: { private_key: string; short_id: string }): Json {
  return editInbound(config, index, (inbound) => {
    const tls = isObject(inbound.tls) ? inbound.tls : {};
    const reality = isObject(tls.reality) ? tls.reality : { enabled: true };
    const enabled = isObject(tls.reality) ? tls : { ...tls, enabled: true };
    return { ...inbound, tls: { ...enabled, reality: { ...reality, private_key: keys.private_key, short_id: [keys.short_id] } } };
  });
}

/** The config with the Vision flow on inbound `index`, or without any flow there. */
export function withVisionFlow(config: unknown, index: number, on: boolean): Json {
  return editInbound(config, index, (inbound) => {
    const { flow: _flow, ...rest } = inbound;
    return on ? { ...rest, flow: VISION_FLOW } : rest;
  });
}
