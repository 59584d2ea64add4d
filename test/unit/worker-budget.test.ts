import { describe, expect, it } from 'vitest';
import {
  type BudgetMember,
  defaultWorkerBudget,
  WorkerBudget,
  type WorkerSlot,
} from '../../local/lambda/worker-budget.ts';

/**
 * A function as the budget sees it, with the pump the local runtime runs: `queued` invocations,
 * started workers that are busy or idle, and a log of what happened to them.
 */
class FakeFunction implements BudgetMember {
  queued = 0;
  readonly busy: WorkerSlot[] = [];
  readonly idle: WorkerSlot[] = [];
  evicted = 0;
  woken = 0;
  /**
   * Whether its queue has waited long enough to take another function's slot (LocalFunction: an
   * init's time). A function with no worker always wants one.
   */
  patient = true;
  /** How long its idle workers are kept before another function may take their slot (ms). */
  keepMs = 0;

  readonly name: string;
  private readonly budget: WorkerBudget;
  private readonly maxConcurrency: number;

  constructor(budget: WorkerBudget, name: string, maxConcurrency = 4) {
    this.budget = budget;
    this.name = name;
    this.maxConcurrency = maxConcurrency;
  }

  get live(): number {
    return this.busy.length + this.idle.length;
  }

  wantsWorker(): boolean {
    return this.queued > 0 && this.live < this.maxConcurrency && (this.live === 0 || this.patient);
  }

  wake(): void {
    this.woken++;
    this.pump();
  }

  invoke(): void {
    this.queued++;
    this.pump();
  }

  /** As LocalFunction.pump: an idle worker first, else a new one if the budget lets it. */
  pump(): void {
    while (this.queued > 0) {
      const reused = this.idle.pop();
      if (reused) {
        reused.busy();
        this.busy.push(reused);
      } else if (this.live < this.maxConcurrency && this.budget.canStart(this)) {
        this.busy.push(this.budget.acquire(this));
      } else return;
      this.queued--;
    }
  }

  /** One busy worker's process dies. */
  crash(): void {
    this.busy.shift()?.release();
  }

  /** One busy worker finishes its invocation: as LocalFunction.release, then pump. */
  finish(): void {
    const slot = this.busy.shift();
    if (!slot) throw new Error(`${this.name} has no busy worker`);
    if (this.queued > 0 && slot.shouldYield()) {
      slot.release(); // the process stops
    } else if (this.queued > 0) {
      this.idle.push(slot);
    } else {
      this.idle.push(slot);
      slot.idle(() => {
        this.evicted++;
        this.idle.splice(this.idle.indexOf(slot), 1);
        slot.release(); // a no-op: the budget freed the slot before evicting
      }, this.keepMs);
    }
    this.pump();
  }
}

describe('defaultWorkerBudget', () => {
  it('allows 4 workers per CPU, no more than a quarter of free memory holds at 128 MB each, at least 2', () => {
    expect(defaultWorkerBudget(2, 20 * 1024 ** 3)).toBe(8);
    expect(defaultWorkerBudget(16, 20 * 1024 ** 3)).toBe(40); // 20 GiB / 4 / 128 MiB
    expect(defaultWorkerBudget(16, 2 * 1024 ** 3)).toBe(4);
    expect(defaultWorkerBudget(1, 100 * 1024 ** 2)).toBe(2);
  });

  it('refuses a size that is not a whole number ≥ 1', () => {
    expect(() => new WorkerBudget(0)).toThrow(RangeError);
    expect(() => new WorkerBudget(2.5)).toThrow(RangeError);
  });
});

describe('WorkerBudget (live Lambda workers shared by the functions of a local runtime)', () => {
  it('starts workers while there is room, then makes an invocation wait in its function queue', () => {
    const budget = new WorkerBudget(3);
    const a = new FakeFunction(budget, 'a');
    const b = new FakeFunction(budget, 'b');
    for (let i = 0; i < 3; i++) a.invoke();
    b.invoke(); // b's first worker: always granted (see the deadlock test), over the budget
    b.invoke();
    expect([a.live, b.live]).toEqual([3, 1]);
    expect(b.queued).toBe(1);
    expect(budget.stats()).toEqual({ size: 3, live: 4, idle: 0, waiting: 1 });
  });

  it('evicts the least recently used idle worker of any function when a new one is needed', () => {
    const budget = new WorkerBudget(2);
    const a = new FakeFunction(budget, 'a');
    const b = new FakeFunction(budget, 'b');
    const c = new FakeFunction(budget, 'c');
    a.invoke();
    b.invoke();
    a.finish(); // idle first: least recently used
    b.finish();
    expect(budget.stats()).toMatchObject({ live: 2, idle: 2 });
    c.invoke();
    expect([a.evicted, b.evicted]).toEqual([1, 0]);
    expect([a.live, b.live, c.live]).toEqual([0, 1, 1]);
    // A function reuses its own idle worker rather than evicting another's.
    b.invoke();
    expect([b.live, c.live, b.evicted]).toEqual([1, 1, 0]);
    expect(budget.stats()).toMatchObject({ live: 2, idle: 0 });
  });

  it('evicts for a function with busy workers only once it says it has waited long enough', () => {
    const budget = new WorkerBudget(2);
    const a = new FakeFunction(budget, 'a');
    const b = new FakeFunction(budget, 'b');
    a.invoke();
    a.finish(); // a's worker is idle, evictable
    b.invoke();
    b.patient = false; // b's second invocation has just been queued
    b.invoke();
    expect([a.live, a.evicted, b.live, b.queued]).toEqual([1, 0, 1, 1]);
    // Its busy worker frees up first: no cold start on either side.
    b.finish();
    expect([a.live, a.evicted, b.live, b.queued]).toEqual([1, 0, 1, 0]);
    // Queued again, and this time it waits past the break-even: then a's idle worker goes.
    b.invoke();
    expect([a.evicted, b.queued]).toEqual([0, 1]);
    b.patient = true;
    b.wake();
    expect([a.live, a.evicted, b.live, b.queued]).toEqual([0, 1, 2, 0]);
  });

  it('keeps a worker that has just gone idle for its keepMs, then gives its slot to a function that waits', async () => {
    const budget = new WorkerBudget(2);
    const a = new FakeFunction(budget, 'a');
    const b = new FakeFunction(budget, 'b');
    a.keepMs = 100;
    a.invoke();
    b.invoke();
    b.invoke(); // b waits (long enough, it says) for a second worker
    a.finish(); // a's worker goes idle: kept 100 ms, as a's next invocation may come first
    expect([a.live, a.evicted, b.live, b.queued]).toEqual([1, 0, 1, 1]);
    expect(budget.canStart(b)).toBe(false);
    a.invoke(); // and it did: a reuses its warm worker
    expect([a.live, a.evicted, a.queued]).toEqual([1, 0, 0]);
    a.finish();
    await new Promise((resolve) => setTimeout(resolve, 150));
    // Past its keepMs, the budget looked again by itself: a's worker went, b got the slot.
    expect([a.live, a.evicted, b.live, b.queued]).toEqual([0, 1, 2, 0]);
  });

  it('hands a worker that goes idle to a function that waits (evicted, its slot given)', () => {
    const budget = new WorkerBudget(2);
    const a = new FakeFunction(budget, 'a');
    const b = new FakeFunction(budget, 'b');
    a.invoke();
    b.invoke();
    b.invoke(); // b waits for a second worker: the budget is full, nothing idle
    expect([b.live, b.queued]).toEqual([1, 1]);
    a.finish(); // a has nothing queued: its worker would idle, b wants it
    expect(a.evicted).toBe(1);
    expect([a.live, b.live, b.queued]).toEqual([0, 2, 0]);
  });

  it('makes a busy function yield slots to one that waits with two workers fewer, until they are even', () => {
    const budget = new WorkerBudget(4);
    const a = new FakeFunction(budget, 'a');
    const b = new FakeFunction(budget, 'b');
    for (let i = 0; i < 10; i++) a.invoke(); // 4 workers, 6 queued
    for (let i = 0; i < 10; i++) b.invoke(); // its first worker, over the budget; 9 queued
    expect([a.live, b.live]).toEqual([4, 1]);
    expect(budget.stats()).toMatchObject({ live: 5 });
    a.finish(); // a has 4, b 1 and waits: a's worker stops; the budget was over (b's first), so back to 4
    expect([a.live, b.live]).toEqual([3, 1]);
    expect(budget.stats()).toMatchObject({ live: 4 });
    a.finish(); // a has 3, b 1 and waits: a's worker stops, b starts one
    expect([a.live, b.live]).toEqual([2, 2]);
    a.finish(); // 2 and 2: each keeps its workers for its own queue
    b.finish();
    a.finish();
    expect([a.live, b.live]).toEqual([2, 2]);
    expect(budget.stats()).toMatchObject({ live: 4, idle: 0 });
  });

  it('cannot deadlock: a function whose workers all wait for another one still lets that one start', () => {
    // `caller` invokes `callee` synchronously (a Step Functions task, an authorizer, a handler
    // calling Invoke): each caller worker is busy until the callee answers.
    const budget = new WorkerBudget(2);
    const caller = new FakeFunction(budget, 'caller');
    const callee = new FakeFunction(budget, 'callee');
    for (let i = 0; i < 3; i++) caller.invoke(); // 2 workers fill the budget, 1 queued
    expect(budget.canStart(callee)).toBe(true);
    callee.invoke();
    callee.invoke();
    expect(callee.live).toBe(1); // one worker, not 4: the budget still bounds it
    // The callee answers both in turn; then both callers finish and the third caller runs.
    callee.finish();
    expect(callee.live).toBe(1); // warm, for the second call
    callee.finish(); // idle over the budget: it goes at once
    expect(callee.evicted).toBe(1);
    expect(budget.stats()).toMatchObject({ live: 2, idle: 0 });
    caller.finish();
    caller.finish();
    expect([caller.queued, caller.busy.length, caller.idle.length]).toEqual([0, 1, 1]);
  });

  it('wakes waiting functions in arrival order when a worker goes', () => {
    const budget = new WorkerBudget(1);
    const a = new FakeFunction(budget, 'a');
    const b = new FakeFunction(budget, 'b');
    a.invoke();
    b.invoke(); // over the budget: b's first
    b.invoke(); // waits
    a.invoke(); // waits
    const order: string[] = [];
    for (const fn of [a, b]) {
      const wake = fn.wake.bind(fn);
      fn.wake = () => {
        order.push(fn.name);
        wake();
      };
    }
    a.crash(); // its slot is free, but the budget is still full (b's first worker was over it)
    expect(order).toEqual([]);
    b.crash();
    expect(order).toEqual(['b', 'a']);
    expect([a.live, b.live]).toEqual([1, 1]); // b's second invocation got a worker, then a's
  });
});
