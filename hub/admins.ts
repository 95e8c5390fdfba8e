// Admin accounts: creating one (from the API or `boxfleet admin create`) and checking a password.
import bcrypt from 'bcryptjs';
import { ROLES, type Role } from '../agent-core/common/roles.js';
import { Admin } from './db/models.js';
import { HubError } from './errors.js';

const BCRYPT_ROUNDS = 11;
export const USERNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$';
export const MIN_PASSWORD_LENGTH = 10;

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `body.password: must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
}

export async function hashPassword(password: string): Promise<string> {
  checkPassword(password);
  return bcrypt.hash(password, BCRYPT_ROUNDS);
}

export async function createAdmin(username: string, password: string, role: Role): Promise<Admin> {
  if (!new RegExp(USERNAME_PATTERN).test(username)) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `body.username: must match ${USERNAME_PATTERN}`);
  }
  if (!ROLES.includes(role)) throw new HubError('HUB_ERR_BAD_REQUEST', `body.role: must be one of ${ROLES.join(', ')}`);
  if (await Admin.query().findOne({ username })) throw new HubError('HUB_ERR_CONFLICT', `admin ${username} already exists`);
  return Admin.query().insertAndFetch({ username, password_hash: await hashPassword(password), role, disabled: false, last_login_at: null });
}

// Compared even for unknown names, so the answer time does not tell which usernames exist.
const DUMMY_HASH = bcrypt.hashSync('boxfleet-dummy-password', BCRYPT_ROUNDS);

/** Why an admin brought over from another panel may not sign in yet, and what to do. */
export function passwordChangeRequired(username: string): HubError {
  return new HubError(
    'HUB_ERR_PASSWORD_CHANGE_REQUIRED',
    `${username} must set a new password before using the hub: POST /api/v1/auth/password with {"username", "password" (the current one), "new_password"}`,
  );
}

/** The admin if the password is right and the account is enabled; else undefined. */
export async function verifyLogin(username: string, password: string): Promise<Admin | undefined> {
  const admin = await Admin.query().findOne({ username });
  const ok = await bcrypt.compare(password, admin?.password_hash ?? DUMMY_HASH);
  return ok && admin && !admin.disabled ? admin : undefined;
}
