// Changes to a proxy user that move them on or off nodes, as the users routes and the users' bulk
// actions both make them. Each runs inside the caller's transaction, on a user row the caller holds,
// and answers the node tags whose revisions must rise, so one request raises them once.
import type { Knex } from 'knex';
import { deleteUsageOf } from './billing/usage-rows.js';
import { Subscription, User } from './db/models.js';
import { tagsOfSubscriptions } from './fleet.js';

/** The tags of every node that any of the user's subscriptions reaches. */
export async function nodeTagsOfUser(db: Knex, userId: number): Promise<string[]> {
  const ids = (await Subscription.query(db).where({ user_id: userId }).select('id')).map((s) => s.id);
  return tagsOfSubscriptions(db, ids);
}

/** Disables or enables the user: a disabled user must leave every node, an enabled one comes back. */
export async function setUserStatus(trx: Knex.Transaction, user: User, status: User['status']): Promise<{ user: User; nodeTags: string[] }> {
  const updated = await User.query(trx).patchAndFetchById(user.id, { status });
  return { user: updated, nodeTags: status === user.status ? [] : await nodeTagsOfUser(trx, user.id) };
}

/** Deletes the user, their subscriptions and their usage rows. */
export async function deleteUser(trx: Knex.Transaction, user: User): Promise<{ nodeTags: string[] }> {
  // Before the delete, whose cascade removes the subscriptions that say where the user was.
  const nodeTags = await nodeTagsOfUser(trx, user.id);
  await deleteUsageOf(trx, user.id);
  await User.query(trx).deleteById(user.id);
  return { nodeTags };
}
