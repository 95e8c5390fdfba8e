// Who is billed what for a node's traffic (hub/billing/policy.ts): the multiplier, and which of a
// user's subscriptions the bytes go to.
import { describe, expect, it } from 'vitest';
import { billedBytes, chooseSubscriptions, type ChargeCandidate } from '../../../../hub/billing/policy.js';

const sub = (over: Partial<ChargeCandidate> & Pick<ChargeCandidate, 'id'>): ChargeCandidate => ({
  userId: 1,
  status: 'active',
  endTime: 1_000,
  planNodeTags: ['eu'],
  ...over,
});

describe('billing policy', () => {
  it("bills upload plus download times the node's multiplier, rounded to a byte", () => {
    expect(billedBytes(1000, 2000, 1)).toBe(3000);
    expect(billedBytes(1000, 2000, 1.5)).toBe(4500);
    expect(billedBytes(1, 2, 0.5)).toBe(2);
    expect(billedBytes(1000, 2000, 0)).toBe(0);
  });

  it("bills a user with two subscriptions to the one whose plan reaches the node", () => {
    const chosen = chooseSubscriptions([sub({ id: 1, planNodeTags: ['us'], endTime: 10 }), sub({ id: 2, planNodeTags: ['eu', 'asia'], endTime: 99 })], ['eu']);
    expect(chosen).toEqual(new Map([[1, 2]]));
  });

  it('prefers an active subscription to a suspended one, then the one ending first, then the older one', () => {
    expect(chooseSubscriptions([sub({ id: 1, status: 'suspended', endTime: 10 }), sub({ id: 2, endTime: 99 })], ['eu'])).toEqual(new Map([[1, 2]]));
    expect(chooseSubscriptions([sub({ id: 1, endTime: 99 }), sub({ id: 2, endTime: 10 })], ['eu'])).toEqual(new Map([[1, 2]]));
    expect(chooseSubscriptions([sub({ id: 7 }), sub({ id: 3 })], ['eu'])).toEqual(new Map([[1, 3]]));
  });

  it("still bills a subscription whose plan does not reach the node when it is the user's only one", () => {
    expect(chooseSubscriptions([sub({ id: 4, planNodeTags: [] })], ['eu'])).toEqual(new Map([[1, 4]]));
  });

  it('chooses per user, and charges a user without a subscription to none', () => {
    const chosen = chooseSubscriptions([sub({ id: 1, userId: 10 }), sub({ id: 2, userId: 20, status: 'suspended' })], ['eu']);
    expect(chosen).toEqual(new Map([[10, 1], [20, 2]]));
    expect(chosen.has(30)).toBe(false);
  });
});
