// Event names the elements send up, typed once. (Lit templates cannot bind an event name from a
// constant, so templates spell it out: @bf-signed-in.)
import type { Admin } from '../data/auth.js';
import type { RuleRow } from '../widgets/bf-firewall-rules.js';
import type { OverrideRow } from '../widgets/bf-inbound-overrides.js';

export const SIGNED_IN = 'bf-signed-in';
export type SignedInEvent = CustomEvent<Admin>;

/** <bf-schema-form> sends the form's value, shaped by its schema. */
export const FORM_SUBMIT = 'bf-submit';
export type FormSubmitEvent = CustomEvent<Record<string, unknown>>;

/** <bf-inbound-overrides> sends its rows, as typed, whenever one changes. */
export const OVERRIDES_CHANGED = 'bf-overrides-changed';
export type OverridesChangedEvent = CustomEvent<OverrideRow[]>;

/** <bf-firewall-rules> sends its rows, as typed, whenever one changes. */
export const RULES_CHANGED = 'bf-rules-changed';
export type RulesChangedEvent = CustomEvent<RuleRow[]>;

/** <bf-confirm> sends one of these when the admin answers. */
export const CONFIRMED = 'bf-confirmed';
export const CANCELLED = 'bf-cancelled';

/** Something changed that the parent may want to reload (a user's subscription, a new plan...). */
export const CHANGED = 'bf-changed';

/** A dialog was closed (<bf-add-node>); what it changed was sent as CHANGED already. */
export const CLOSED = 'bf-closed';
