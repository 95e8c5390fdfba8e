import { describe, expect, it } from 'vitest';
import { planStages, stageOf, stagesProblem, type StageSpec } from '../../../hub/rollouts/plan.js';

const DEFAULT: StageSpec[] = [1, '10%', '50%', '100%'];

describe('rollout stage plan', () => {
  it.each([
    [1, [1]],
    [2, [1, 2]],
    [4, [1, 2, 3, 4]],
    [10, [1, 2, 5, 10]],
    [20, [1, 2, 10, 20]],
    [50, [1, 5, 25, 50]],
    [101, [1, 11, 51, 101]],
  ])('plans [1, "10%", "50%", "100%"] over %i nodes as %j', (total, plan) => {
    expect(planStages(DEFAULT, total)).toEqual(plan);
  });

  it('keeps every stage above the one before, at least one node each, the last covering all, for any fleet size', () => {
    const specs: StageSpec[][] = [DEFAULT, [1, '100%'], ['1%', '2%', '3%', '100%'], [3, 5, '100%'], ['33%', '66%', '100%'], [5, '10%', '100%']];
    for (const spec of specs) {
      for (let total = 1; total <= 300; total++) {
        const plan = planStages(spec, total);
        expect(plan[plan.length - 1]).toBe(total);
        expect(plan.length).toBeLessThanOrEqual(spec.length);
        plan.forEach((count, i) => expect(count).toBeGreaterThan(plan[i - 1] ?? 0));
      }
    }
  });

  it('rounds shares up, so a 10 % stage of 11 nodes reaches 2', () => {
    expect(planStages([1, '10%', '100%'], 11)).toEqual([1, 2, 11]);
    expect(planStages(['50%', '100%'], 3)).toEqual([2, 3]);
  });

  it('drops the stages a small target cannot fill, and caps a count at the target', () => {
    expect(planStages([2, 5, '100%'], 3)).toEqual([2, 3]);
    expect(planStages([5], 3)).toEqual([3]);
  });

  it('puts each node in the stage that first covers it', () => {
    const plan = planStages(DEFAULT, 10);
    expect(Array.from({ length: 10 }, (_, i) => stageOf(plan, i))).toEqual([1, 2, 3, 3, 3, 4, 4, 4, 4, 4]);
  });

  it('refuses a last stage that leaves nodes out', () => {
    expect(stagesProblem([1, '50%'])).toBe('body.stages: the last stage must cover every node ("100%"), not 50%');
    expect(() => planStages([1, 3], 5)).toThrow('the last stage covers 3 node(s) but the target has 5');
  });

  it('refuses stages that do not grow, and shares outside 1..100 %', () => {
    expect(stagesProblem([2, 2, '100%'])).toBe('body.stages[1]: stages must grow (2 then 2)');
    expect(stagesProblem(['50%', '10%', '100%'])).toBe('body.stages[1]: stages must grow ("50%" then "10%")');
    expect(stagesProblem(['0%', '100%'])).toBe('body.stages[0]: a share must be between 1% and 100%');
    expect(stagesProblem(['150%'])).toBe('body.stages[0]: a share must be between 1% and 100%');
    expect(stagesProblem(DEFAULT)).toBeUndefined();
  });
});
