import { describe, expect, it } from 'vitest';
import { trafficDrop } from '../../../hub/rollouts/gate.js';

const at = (s: number, bytes: number) => ({ at: s * 1000, bytes });

describe("a rollout gate's traffic comparison", () => {
  it('compares rates, so windows of different lengths compare fairly', () => {
    // 1000 B/s before (10 s), 400 B/s over a 5 s soak: a 60 % drop.
    expect(trafficDrop({ before_from: at(0, 0), before_to: at(10, 10_000), after_from: at(20, 500), after_to: at(25, 2500) })).toBe(60);
  });

  it('counts more traffic after as no drop', () => {
    expect(trafficDrop({ before_from: at(0, 0), before_to: at(10, 1000), after_from: at(20, 0), after_to: at(30, 5000) })).toBe(0);
  });

  it('counts from zero when sing-box restarted inside the soak (its counters went down)', () => {
    expect(trafficDrop({ before_from: at(0, 0), before_to: at(10, 10_000), after_from: at(20, 90_000), after_to: at(30, 5000) })).toBe(50);
  });

  it('has nothing to compare when the node carried no traffic before', () => {
    expect(trafficDrop({ before_from: at(0, 700), before_to: at(10, 700), after_from: at(20, 0), after_to: at(30, 0) })).toBeNull();
  });
});
