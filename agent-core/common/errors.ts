// Typed errors for plugins and the agent. Each maps to exactly one gRPC status code, once, at the
// edge (grpc-server.ts); everything inside the agent throws these and never builds status envelopes.

export type ErrorStatus =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL';

// A plugin may carry its own copy of the SDK (bundled, or another install), so errors are
// recognised by a global brand rather than by class identity.
const BRAND = Symbol.for('boxfleet.agent-error');

export class AgentError extends Error {
  readonly [BRAND] = true;
  readonly status: ErrorStatus = 'INTERNAL';
  readonly code: string = 'AGENT_ERR_INTERNAL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The input, config or payload is wrong; the message names the field. */
export class InvalidArgumentError extends AgentError {
  override readonly status = 'INVALID_ARGUMENT';
  override readonly code = 'AGENT_ERR_INVALID_ARGUMENT';
}

export class NotFoundError extends AgentError {
  override readonly status = 'NOT_FOUND';
  override readonly code = 'AGENT_ERR_NOT_FOUND';
}

/** The request is fine but the node is not in a state to do it (e.g. no Clash API configured). */
export class FailedPreconditionError extends AgentError {
  override readonly status = 'FAILED_PRECONDITION';
  override readonly code = 'AGENT_ERR_FAILED_PRECONDITION';
}

/** Something the plugin depends on (sing-box, a remote host) does not answer; retrying may help. */
export class UnavailableError extends AgentError {
  override readonly status = 'UNAVAILABLE';
  override readonly code = 'AGENT_ERR_UNAVAILABLE';
}

export class PermissionDeniedError extends AgentError {
  override readonly status = 'PERMISSION_DENIED';
  override readonly code = 'AGENT_ERR_PERMISSION_DENIED';
}

export class UnauthenticatedError extends AgentError {
  override readonly status = 'UNAUTHENTICATED';
  override readonly code = 'AGENT_ERR_UNAUTHENTICATED';
}

export class DeadlineExceededError extends AgentError {
  override readonly status = 'DEADLINE_EXCEEDED';
  override readonly code = 'AGENT_ERR_DEADLINE_EXCEEDED';
}

export class InternalError extends AgentError {}

/** True for an AgentError from any copy of the SDK. */
export function isAgentError(error: unknown): error is AgentError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}

const BY_STATUS: Record<ErrorStatus, new (message: string) => AgentError> = {
  INVALID_ARGUMENT: InvalidArgumentError,
  NOT_FOUND: NotFoundError,
  FAILED_PRECONDITION: FailedPreconditionError,
  UNAVAILABLE: UnavailableError,
  PERMISSION_DENIED: PermissionDeniedError,
  UNAUTHENTICATED: UnauthenticatedError,
  DEADLINE_EXCEEDED: DeadlineExceededError,
  INTERNAL: InternalError,
};

/** The error of that status again, e.g. one a plugin task threw in its own process; an unknown status is INTERNAL. */
export function agentErrorOf(status: string, message: string): AgentError {
  return new (BY_STATUS[status as ErrorStatus] ?? InternalError)(message);
}
