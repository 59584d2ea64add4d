/**
 * How many worker processes the functions of a local Lambda runtime may keep alive at once.
 *
 * Each worker is its own Node process (~50 MB PSS). Lambda gives every function up to its
 * concurrency limit and recycles idle environments when it needs the room; on one machine, more busy
 * workers than a few per CPU add no throughput, only memory. So the functions of a runtime share one
 * budget of live workers:
 * - a function starts a worker while the budget has room;
 * - when it is full, the least recently used IDLE worker of any function is evicted for the new one,
 *   once it has been idle for the time its function asked to be kept (an init's time: a worker that
 *   has just finished is likely to be needed again before a new one could start);
 * - when no worker is idle anywhere, the invocation waits in its function's queue (bounded, throttled
 *   beyond, as before) until a worker is released;
 * - a function with no worker at all may always start one, even over the budget. A function that
 *   synchronously invokes another (or waits for it by any other path) can then never starve it:
 *   however many of its own workers wait, the other one gets a worker and answers;
 * - a worker that finishes an invocation yields its slot (its process stops) when another function
 *   waits with at least two workers fewer, so a busy function cannot keep the others at one worker.
 *
 * @module
 */
import { availableParallelism, freemem } from 'node:os';

/** A function as the budget sees it. */
export interface BudgetMember {
  /** Has invocations waiting that only a new worker can take (none idle, below its own limit). */
  wantsWorker(): boolean;
  /** Called (synchronously) when a slot may have become free: try again. */
  wake(): void;
}

/** One worker's place in a {@link WorkerBudget}, from its spawn until its process has gone. */
export interface WorkerSlot {
  /**
   * The worker waits for work: from `keepMs` on (default 0) the budget may evict it, by calling
   * `evict` (at once, or when another function needs the room). `evict` must stop the worker; its
   * slot is already free.
   */
  idle(evict: () => void, keepMs?: number): void;
  /** The worker took an invocation: it cannot be evicted. */
  busy(): void;
  /**
   * Asked when the worker has finished an invocation and its function has more waiting: whether the
   * worker should stop instead, so that a function that waits with at least two workers fewer gets
   * the slot.
   */
  shouldYield(): boolean;
  /** The worker has gone. Idempotent. */
  release(): void;
}

const MB = 2 ** 20;

/**
 * The default budget: 4 workers per CPU (a handler mostly waits for a store, so a few per core keep
 * the cores busy), and no more than a quarter of the free memory holds at 128 MB each. At least 2.
 *
 * @example
 * defaultWorkerBudget(2, 20 * 1024 ** 3); // 8
 */
export function defaultWorkerBudget(cpus = availableParallelism(), freeBytes = freemem()): number {
  return Math.max(2, Math.min(4 * cpus, Math.floor(freeBytes / 4 / (128 * MB))));
}

/**
 * The live workers of a runtime's functions, shared by all of them (pass one object to each, as
 * `LambdaRuntime` does).
 *
 * @example
 * const budget = new WorkerBudget(8);
 * if (budget.canStart(member)) {
 *   const slot = budget.acquire(member); // may evict another function's idle worker
 *   // ... when the worker is idle: slot.idle(() => kill(worker)); when it has gone: slot.release()
 * }
 */
export class WorkerBudget {
  readonly size: number;
  #used = 0;
  readonly #held = new Map<BudgetMember, number>();
  /** Idle slots with their eviction, least recently used first (a Map keeps insertion order). */
  readonly #idle = new Map<Slot, IdleEntry>();
  readonly #waiting: BudgetMember[] = [];
  /** Looks again when the next young idle worker may be evicted (someone needs its room meanwhile). */
  #recheck?: NodeJS.Timeout;

  constructor(size = defaultWorkerBudget()) {
    if (!(Number.isInteger(size) && size >= 1))
      throw new RangeError(`a worker budget is a whole number ≥ 1, got ${size}`);
    this.size = size;
  }

  /**
   * Whether `member` may start a worker now ({@link acquire} then succeeds). If not, `member` waits
   * and its `wake` is called when a slot may be free.
   */
  canStart(member: BudgetMember): boolean {
    if (this.#used < this.size || !this.#held.get(member)) return true;
    // Another function's idle worker is evicted only for a member that wants a worker now (one
    // that has waited long enough, as it decides).
    if (member.wantsWorker()) {
      if (this.#evictable()) return true;
      this.#recheckLater();
    }
    if (!this.#waiting.includes(member)) this.#waiting.push(member);
    return false;
  }

  /**
   * A slot for a new worker of `member`: evicts the least recently used idle worker that may go if the
   * budget is full (or goes over the budget until one may: a function's first worker).
   */
  acquire(member: BudgetMember): WorkerSlot {
    if (this.#used >= this.size) this.#evictOldest();
    this.#used++;
    this.#held.set(member, (this.#held.get(member) ?? 0) + 1);
    return new Slot(this, member);
  }

  /** Live workers, idle ones among them, and functions waiting for a worker. */
  stats(): { size: number; live: number; idle: number; waiting: number } {
    const waiting = this.#waiting.filter((m) => m.wantsWorker()).length;
    return { size: this.size, live: this.#used, idle: this.#idle.size, waiting };
  }

  /** @internal */
  onIdle(slot: Slot, evict: () => void, keepMs: number): void {
    this.#idle.delete(slot);
    this.#idle.set(slot, { evict, evictableAt: performance.now() + keepMs });
    this.#rebalance();
  }

  /**
   * Over the budget (a function's first worker), or another function waits: the oldest idle workers
   * that may go, go; if only young ones are idle, look again when the first may. Then wake waiters.
   */
  #rebalance(): void {
    const pressed = () => this.#used > this.size || (this.#used >= this.size && this.#wanted());
    while (pressed() && this.#evictOldest());
    if (pressed() && this.#idle.size > 0) this.#recheckLater();
    this.#wakeIfRoom();
  }

  /** Whether an idle worker may be evicted now. */
  #evictable(): boolean {
    const now = performance.now();
    for (const entry of this.#idle.values()) if (entry.evictableAt <= now) return true;
    return false;
  }

  #recheckLater(): void {
    if (this.#recheck || this.#idle.size === 0) return;
    let first = Number.POSITIVE_INFINITY;
    for (const { evictableAt } of this.#idle.values()) first = Math.min(first, evictableAt);
    const wait = first - performance.now();
    this.#recheck = setTimeout(() => {
      this.#recheck = undefined;
      this.#rebalance();
    }, Math.max(0, wait) + 1);
    this.#recheck.unref();
  }

  /** @internal */
  onBusy(slot: Slot): void {
    this.#idle.delete(slot);
  }

  /** @internal */
  shouldYield(member: BudgetMember): boolean {
    const mine = this.#held.get(member) ?? 0;
    if (mine <= 1) return false;
    return this.#waiting.some((m) => m !== member && (this.#held.get(m) ?? 0) + 1 < mine && m.wantsWorker());
  }

  /** @internal */
  onRelease(slot: Slot): void {
    this.#idle.delete(slot);
    this.#free(slot.member);
    this.#wakeIfRoom();
  }

  #wanted(): boolean {
    return this.#waiting.some((m) => m.wantsWorker());
  }

  #free(member: BudgetMember): void {
    this.#used--;
    const held = (this.#held.get(member) ?? 1) - 1;
    if (held > 0) this.#held.set(member, held);
    else this.#held.delete(member);
  }

  /**
   * Evicts the least recently used idle worker that may go (idle for its `keepMs`), if any. The slot
   * is free before `evict` runs, so its release (when the process goes) does nothing.
   */
  #evictOldest(): boolean {
    const now = performance.now();
    for (const [slot, { evict, evictableAt }] of this.#idle) {
      if (evictableAt > now) continue;
      this.#idle.delete(slot);
      slot.released = true;
      this.#free(slot.member);
      evict();
      return true;
    }
    return false;
  }

  /** Every waiter tries again, in arrival order; those that do not get a slot wait again. */
  #wakeIfRoom(): void {
    if (this.#used >= this.size && !this.#evictable()) return;
    for (const member of this.#waiting.splice(0)) member.wake();
  }
}

interface IdleEntry {
  evict: () => void;
  /** From when it may be evicted (performance.now(): when it went idle, plus its keepMs). */
  evictableAt: number;
}

class Slot implements WorkerSlot {
  released = false;
  readonly #budget: WorkerBudget;
  readonly member: BudgetMember;

  constructor(budget: WorkerBudget, member: BudgetMember) {
    this.#budget = budget;
    this.member = member;
  }

  idle(evict: () => void, keepMs = 0): void {
    if (!this.released) this.#budget.onIdle(this, evict, keepMs);
  }

  busy(): void {
    if (!this.released) this.#budget.onBusy(this);
  }

  shouldYield(): boolean {
    return !this.released && this.#budget.shouldYield(this.member);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.#budget.onRelease(this);
  }
}
