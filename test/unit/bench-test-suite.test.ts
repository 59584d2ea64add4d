import { describe, expect, it } from 'vitest';
import { whereTimeGoes } from '../../bench/rows/test-suite.ts';

describe('whereTimeGoes (the test-suite row: where npm test spends its time)', () => {
  it('sums file times per project, largest first, and names the slowest files', () => {
    const files = [
      { file: 'test/unit/a.test.ts', project: 'unit', ms: 6_000 },
      { file: 'test/integration/orders.test.ts', project: 'integration', ms: 90_000 },
      { file: 'test/unit/b.test.ts', project: 'unit', ms: 12_000 },
      { file: 'test/chaos/chaos.test.ts', project: 'chaos', ms: 150_000 },
    ];
    expect(whereTimeGoes(files, 2)).toBe(
      'files by project: chaos 2.5 min, integration 1.5 min, unit 0.3 min; slowest: chaos/chaos 2.5 min, integration/orders 1.5 min',
    );
  });
});
