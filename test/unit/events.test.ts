import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildEvent, EVENTS, type EventName, InventoryChangedV1 } from '../../events/schemas.ts';

const samplesDir = new URL('../../events/samples/', import.meta.url);

describe('event schemas', () => {
  const samples = readdirSync(samplesDir).filter((f) => /\.v\d+\.json$/.test(f));

  it('has a sample for every event', () => {
    expect(samples.map((f) => f.split('.')[0]).sort()).toEqual(Object.keys(EVENTS).sort());
  });

  it.each(samples)('%s matches its source and schema', (file) => {
    const sample = JSON.parse(readFileSync(new URL(file, samplesDir), 'utf8'));
    const spec = EVENTS[sample['detail-type'] as EventName];
    expect(sample.source).toBe(spec.source);
    expect(() => spec.schema.parse(sample.detail)).not.toThrow();
  });

  it('completes new events with meta fields and rejects invalid ones', () => {
    const event = buildEvent({
      name: 'InventoryChanged',
      detail: { productId: 'p', stock: 0, version: 1, reason: 'SET' },
    });
    expect(event.source).toBe('shop.inventory');
    expect(InventoryChangedV1.parse(event.detail).schemaVersion).toBe(1);
    expect(() =>
      buildEvent({
        name: 'InventoryChanged',
        detail: { productId: 'p', stock: -1, version: 1, reason: 'SET' },
      }),
    ).toThrow();
  });
});
