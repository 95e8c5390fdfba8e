// Every error the hub answers with has a named code from this table. Agent call failures are
// mapped here, once, from their gRPC status to an HTTP status.
import { AgentCallError } from '../agent-core/common/agent-client.js';
import { AgentError } from '../agent-core/common/errors.js';

export const HUB_ERRORS = {
  HUB_ERR_BAD_REQUEST: 400,
  HUB_ERR_UNAUTHORIZED: 401,
  HUB_ERR_FORBIDDEN: 403,
  /** The admin must set a new password (POST /api/v1/auth/password) before anything else. */
  HUB_ERR_PASSWORD_CHANGE_REQUIRED: 403,
  HUB_ERR_NOT_FOUND: 404,
  HUB_ERR_CONFLICT: 409,
  /** An install command that was used, revoked or has expired. */
  HUB_ERR_GONE: 410,
  /** A request bigger than its route takes (an import over its size or row limit). */
  HUB_ERR_TOO_LARGE: 413,
  HUB_ERR_RATE_LIMITED: 429,
  HUB_ERR_AGENT_FAILED: 502,
  HUB_ERR_AGENT_UNREACHABLE: 502,
  /** The agent's certificate is not the enrolled one. */
  HUB_ERR_AGENT_UNTRUSTED: 502,
  HUB_ERR_AGENT_TIMEOUT: 504,
  HUB_ERR_INTERNAL: 500,
  /** The release folder holds no agent tarball to install. */
  HUB_ERR_NO_AGENT_RELEASE: 503,
  /** The database cannot be reached (stopped, restarting): retry; the hub reconnects by itself. */
  HUB_ERR_DATABASE_UNAVAILABLE: 503,
} as const;

export type HubErrorCode = keyof typeof HUB_ERRORS;

export class HubError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: HubErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
    this.statusCode = HUB_ERRORS[code];
  }
}

const FROM_AGENT: Record<string, HubErrorCode> = {
  INVALID_ARGUMENT: 'HUB_ERR_BAD_REQUEST',
  NOT_FOUND: 'HUB_ERR_NOT_FOUND',
  FAILED_PRECONDITION: 'HUB_ERR_CONFLICT',
  PERMISSION_DENIED: 'HUB_ERR_FORBIDDEN',
  DEADLINE_EXCEEDED: 'HUB_ERR_AGENT_TIMEOUT',
  UNAVAILABLE: 'HUB_ERR_AGENT_UNREACHABLE',
  UNAUTHENTICATED: 'HUB_ERR_AGENT_UNREACHABLE',
  UNTRUSTED: 'HUB_ERR_AGENT_UNTRUSTED',
};

/** Turns anything thrown while talking to an agent into a HubError that names the node. */
export function fromAgent(nodeId: string, error: unknown): HubError {
  if (error instanceof HubError) return error;
  if (error instanceof AgentCallError) {
    const code = FROM_AGENT[error.code] ?? 'HUB_ERR_AGENT_FAILED';
    const prefix = HUB_ERRORS[code] >= 500 ? `node ${nodeId}: ` : '';
    return new HubError(code, `${prefix}${error.code === 'UNAUTHENTICATED' ? 'agent refused the hub: ' : ''}${error.message}`);
  }
  if (error instanceof AgentError) return new HubError('HUB_ERR_BAD_REQUEST', error.message);
  return new HubError('HUB_ERR_AGENT_FAILED', `node ${nodeId}: ${error instanceof Error ? error.message : String(error)}`);
}
