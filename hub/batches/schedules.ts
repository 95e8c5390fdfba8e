// Cron schedules of batches: "restart sing-box on tag hk every day at 04:00 Asia/Shanghai". A
// schedule stores a BatchSpec, a cron expression (node-cron's: 5 fields, or 6 with seconds first)
// and an IANA time zone; the `batch-schedules` job (schedule-runner.ts) creates the batch at each
// fire time. Its batch is checked as createBatch checks one when it is set (the caller must be
// allowed the command on the target's nodes), and a fire runs as the admin who last set it, with
// the role that admin has then, so an admin cannot make an owner's schedule run a command of their
// choosing, and a demoted admin's schedules stop at their next fire.
import type { Knex } from 'knex';
import { BatchSchedule, BatchScheduleFire, iso } from '../db/models.js';
import { isUniqueViolation, locked, whereNameIs } from '../db/queries.js';
import { HubError } from '../errors.js';
import { redact } from '../redact.js';
import { checkBatch, type BatchCreator, type BatchSpec } from './index.js';
import { canonicalTimeZone, checkCron, withCron } from './schedule-cron.js';

/** The fires GET /:id lists, newest first. */
export const RECENT_FIRES = 50;

export interface ScheduleInput {
  name: string;
  cron: string;
  timezone: string;
  batch: BatchSpec;
  enabled: boolean;
}

/** A schedule as the API shows it: the batch's input redacted like a batch's; times as ISO strings, next_fire_at null while paused. */
export function schedulePublic(schedule: BatchSchedule) {
  const spec = schedule.batch_spec as BatchSpec;
  return {
    id: schedule.id,
    name: schedule.name,
    cron: schedule.cron,
    timezone: schedule.timezone,
    batch: spec.input === undefined ? spec : { ...spec, input: redact(spec.input) },
    enabled: Boolean(schedule.enabled),
    created_by: schedule.created_by,
    created_at: iso(schedule.created_at),
    updated_at: iso(schedule.updated_at),
    last_fire_at: iso(schedule.last_fire_at),
    next_fire_at: schedule.enabled ? iso(withCron(schedule.cron, schedule.timezone, (c) => c.next())) : null,
  };
}

/** The cron and time zone checked (naming the body field that is wrong), the zone as Intl spells it. */
function checked<T extends Partial<ScheduleInput>>(input: T): T {
  if (input.cron !== undefined) checkCron(input.cron, 'body.cron');
  return input.timezone === undefined ? input : { ...input, timezone: canonicalTimeZone(input.timezone, 'body.timezone') };
}

export async function findSchedule(db: Knex, id: number, lock = false): Promise<BatchSchedule> {
  const query = BatchSchedule.query(db).findById(id);
  const schedule = await (lock ? locked(db, query) : query);
  if (!schedule) throw new HubError('HUB_ERR_NOT_FOUND', `no batch schedule ${id}`);
  return schedule;
}

export async function recentFires(db: Knex, scheduleId: number): Promise<BatchScheduleFire[]> {
  return BatchScheduleFire.query(db).where({ schedule_id: scheduleId }).orderBy('fire_at', 'desc').limit(RECENT_FIRES);
}

async function refuseTakenName(trx: Knex.Transaction, name: string, exceptId?: number): Promise<void> {
  const named = BatchSchedule.query(trx).first();
  whereNameIs(named, 'name', name);
  if (exceptId !== undefined) named.whereNot('id', exceptId);
  if (await named) throw new HubError('HUB_ERR_CONFLICT', `a batch schedule named ${name} already exists (names are compared without case)`);
}

const saving = async <T>(name: string | undefined, write: () => PromiseLike<T>): Promise<T> => {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw new HubError('HUB_ERR_CONFLICT', `a batch schedule named ${name} already exists`);
    throw error;
  }
};

/** Its fire times start after `now`: none before it is run or reported missed. */
export async function createSchedule(db: Knex, input: ScheduleInput, by: BatchCreator, now: number): Promise<BatchSchedule> {
  const { batch, ...rest } = checked(input);
  await checkBatch(db, batch, by);
  return saving(input.name, () =>
    db.transaction(async (trx) => {
      await refuseTakenName(trx, input.name);
      return BatchSchedule.query(trx).insertAndFetch({
        ...rest,
        batch_spec: batch,
        created_by_id: by.id,
        created_by: by.name,
        last_fire_at: null,
        checked_until: now,
        created_at: now,
        updated_at: now,
      });
    }),
  );
}

/**
 * Changes the given fields. Resuming a paused schedule, or giving it another cron or time zone,
 * starts its fire times afresh at `now`: the times it was paused over are neither run nor missed.
 * A new batch makes `by` the admin it runs as.
 */
export async function updateSchedule(db: Knex, id: number, patch: Partial<ScheduleInput>, by: BatchCreator, now: number): Promise<BatchSchedule> {
  const { batch, ...rest } = checked(patch);
  if (batch !== undefined) await checkBatch(db, batch, by);
  return saving(patch.name, () =>
    db.transaction(async (trx) => {
      const current = await findSchedule(trx, id, true);
      if (patch.name !== undefined) await refuseTakenName(trx, patch.name, id);
      const resumed = patch.enabled === true && !current.enabled;
      const retimed = (patch.cron !== undefined && patch.cron !== current.cron) || (rest.timezone !== undefined && rest.timezone !== current.timezone);
      return BatchSchedule.query(trx).patchAndFetchById(id, {
        ...rest,
        ...(batch === undefined ? {} : { batch_spec: batch, created_by_id: by.id, created_by: by.name }),
        ...(resumed || retimed ? { checked_until: now } : {}),
        updated_at: now,
      });
    }),
  );
}

export async function deleteSchedule(db: Knex, id: number): Promise<void> {
  await db.transaction(async (trx) => {
    await findSchedule(trx, id, true);
    await BatchSchedule.query(trx).deleteById(id);
  });
}
