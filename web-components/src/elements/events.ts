// Event names the elements send up, typed once. (Lit templates cannot bind an event name from a
// constant, so templates spell it out: @bf-signed-in.)
import type { Admin } from '../data/api.js';

export const SIGNED_IN = 'bf-signed-in';
export type SignedInEvent = CustomEvent<Admin>;
