/** The last log lines of the local cloud, for the console's "recent logs per function". */
export class LogBuffer {
  private readonly lines: Record<string, unknown>[] = [];
  private readonly capacity: number;

  constructor(capacity = 2000) {
    this.capacity = capacity;
  }

  push(entry: Record<string, unknown>): void {
    this.lines.push({ time: new Date().toISOString(), ...entry });
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  /** The newest `limit` lines (oldest first), of one function when given. */
  recent(limit: number, fn?: string): Record<string, unknown>[] {
    const lines = fn ? this.lines.filter((l) => l.function === fn) : this.lines;
    return lines.slice(-limit);
  }
}
