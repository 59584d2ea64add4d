import { describe, expect, it } from 'vitest';
import {
  choose,
  formatLagModel,
  lagExceeds,
  parseLagModel,
  pbsStaleProbability,
  sampleLag,
} from '../../shared/lab/domain/lag-model.ts';

/** A deterministic uniform generator (mulberry32) so sample statistics are reproducible. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('lag models', () => {
  it('parses the specs the CLI accepts and formats them back', () => {
    expect(parseLagModel('off')).toEqual({ kind: 'off' });
    expect(parseLagModel('exp:20ms')).toEqual({ kind: 'exp', meanMs: 20 });
    expect(parseLagModel('uniform:5-200ms')).toEqual({ kind: 'uniform', minMs: 5, maxMs: 200 });
    expect(parseLagModel('fixed:50ms')).toEqual({ kind: 'fixed', ms: 50 });
    expect(parseLagModel('exp:0.5s')).toEqual({ kind: 'exp', meanMs: 500 });
    for (const spec of ['off', 'exp:20ms', 'uniform:5-200ms', 'fixed:50ms'])
      expect(formatLagModel(parseLagModel(spec))).toBe(spec);
  });

  it.each(['', 'exp', 'exp:0ms', 'exp:-3ms', 'uniform:200-5ms', 'fixed:ms', 'normal:20ms', 'exp:20'])(
    'refuses %j with a message that shows the accepted forms',
    (spec) => {
      expect(() => parseLagModel(spec)).toThrow(/exp:<mean>ms/);
    },
  );

  it('P(lag > t) is the survival function of each distribution', () => {
    expect(lagExceeds({ kind: 'exp', meanMs: 20 }, 0)).toBe(1);
    expect(lagExceeds({ kind: 'exp', meanMs: 20 }, 20)).toBeCloseTo(Math.exp(-1), 12);
    expect(lagExceeds({ kind: 'uniform', minMs: 5, maxMs: 205 }, 2)).toBe(1);
    expect(lagExceeds({ kind: 'uniform', minMs: 5, maxMs: 205 }, 105)).toBeCloseTo(0.5, 12);
    expect(lagExceeds({ kind: 'uniform', minMs: 5, maxMs: 205 }, 300)).toBe(0);
    expect(lagExceeds({ kind: 'fixed', ms: 50 }, 49.9)).toBe(1);
    expect(lagExceeds({ kind: 'fixed', ms: 50 }, 50)).toBe(0);
    expect(lagExceeds({ kind: 'off' }, 0)).toBe(0);
  });

  it('samples match the survival function (10,000 seeded samples, ±0.02)', () => {
    for (const model of [
      parseLagModel('exp:20ms'),
      parseLagModel('uniform:5-200ms'),
      parseLagModel('fixed:50ms'),
    ]) {
      const random = seeded(42);
      const samples = Array.from({ length: 10_000 }, () => sampleLag(model, random));
      for (const t of [0, 10, 20, 50, 100]) {
        const measured = samples.filter((lag) => lag > t).length / samples.length;
        expect(Math.abs(measured - lagExceeds(model, t)), `${formatLagModel(model)} at ${t}`).toBeLessThan(
          0.02,
        );
      }
    }
  });

  it('PBS: C(N−W, R)/C(N, R) × P(lag > t), 1/3 for DynamoDB right after the write', () => {
    expect(choose(3, 1)).toBe(3);
    expect(choose(5, 2)).toBe(10);
    expect(choose(1, 2)).toBe(0);
    const exp = parseLagModel('exp:20ms');
    expect(pbsStaleProbability({ n: 3, w: 2, r: 1 }, exp, 0)).toBeCloseTo(1 / 3, 12);
    expect(pbsStaleProbability({ n: 3, w: 2, r: 1 }, exp, 20)).toBeCloseTo(Math.exp(-1) / 3, 12);
    // A read quorum that overlaps every write quorum (R + W > N) is never stale.
    expect(pbsStaleProbability({ n: 3, w: 2, r: 2 }, exp, 0)).toBe(0);
    // Bailis et al.'s N=3, R=W=1: 2/3 right after the write.
    expect(pbsStaleProbability({ n: 3, w: 1, r: 1 }, exp, 0)).toBeCloseTo(2 / 3, 12);
  });
});
