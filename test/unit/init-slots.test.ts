import { describe, expect, it } from 'vitest';
import { InitSlots } from '../../local/lambda/local-function.ts';

describe('InitSlots (cold starts of the local runtime queue instead of starving each other)', () => {
  it('grants at most its slots and wakes the waiters when one is released', () => {
    const slots = new InitSlots(2);
    const woken: string[] = [];
    expect(slots.tryAcquire(() => woken.push('a'))).toBe(true);
    expect(slots.tryAcquire(() => woken.push('b'))).toBe(true);
    expect(slots.tryAcquire(() => woken.push('c'))).toBe(false);
    expect(slots.tryAcquire(() => woken.push('d'))).toBe(false);
    slots.release();
    expect(woken).toEqual(['c', 'd']);
    // One slot is free again: the first waiter to ask gets it, the next one waits.
    expect(slots.tryAcquire(() => woken.push('c2'))).toBe(true);
    expect(slots.tryAcquire(() => woken.push('d2'))).toBe(false);
  });
});
