import { randomUUID } from 'node:crypto';
import { BUILT_IN_FAULTS } from './kinds.ts';
import { FaultError, type FaultKind, type FaultRecord, type FaultTargets } from './types.ts';

const HISTORY = 200;

interface Active {
  record: FaultRecord;
  heal: () => Promise<void>;
  timer?: NodeJS.Timeout;
  healing?: Promise<void>;
}

/**
 * Injects, lists and heals faults in the local cloud. Every fault is healed when its duration ends,
 * when asked (`heal`), or when the cloud stops (`healAll`), and every step is logged.
 *
 * @example
 * const faults = new FaultController({ postgres, dynamodb, functions }, log);
 * const fault = await faults.inject('freeze-dynamodb', { seconds: 5 });
 * await faults.heal(fault.id); // or wait 5 s
 * await faults.healAll();       // on stop
 */
export class FaultController {
  readonly #kinds = new Map<string, FaultKind<unknown>>();
  readonly #active = new Map<string, Active>();
  readonly #history: FaultRecord[] = [];
  readonly #targets: FaultTargets;
  readonly #log: (entry: Record<string, unknown>) => void;
  #stopped = false;

  constructor(targets: FaultTargets, log: (entry: Record<string, unknown>) => void = () => {}) {
    this.#targets = targets;
    this.#log = (entry) => log({ source: 'faults', ...entry });
    for (const kind of BUILT_IN_FAULTS) this.register(kind as FaultKind<unknown>);
  }

  /** Adds a kind of fault (e.g. a partition between two replicas). Names are unique. */
  register<P>(kind: FaultKind<P>): void {
    if (this.#kinds.has(kind.name)) throw new Error(`Fault kind ${kind.name} is already registered`);
    this.#kinds.set(kind.name, kind as FaultKind<unknown>);
  }

  /** The kinds with their descriptions and parameters. */
  kinds(): { name: string; description: string; parameters: Record<string, string> }[] {
    return [...this.#kinds.values()].map(({ name, description, parameters }) => ({
      name,
      description,
      parameters,
    }));
  }

  /** Active faults first, then the most recent healed ones. */
  list(): FaultRecord[] {
    return [
      ...[...this.#active.values()].map((a) => ({ ...a.record })),
      ...this.#history.map((r) => ({ ...r })).reverse(),
    ];
  }

  /** Injects a fault; throws a {@link FaultError} for an unknown kind or bad parameters. */
  async inject(kindName: string, params: Record<string, unknown> = {}): Promise<FaultRecord> {
    if (this.#stopped) throw new FaultError(409, 'The local cloud is stopping');
    const kind = this.#kinds.get(kindName);
    if (!kind) {
      throw new FaultError(
        400,
        `Unknown fault kind "${kindName}"; kinds: ${[...this.#kinds.keys()].join(', ')}`,
        'kind',
      );
    }
    const parsed = kind.parse(params);
    const injectedAt = new Date();
    const injected = await kind.inject(this.#targets, parsed);
    const record: FaultRecord = {
      id: randomUUID(),
      kind: kind.name,
      params: parsed as Record<string, unknown>,
      detail: injected.detail,
      status: 'active',
      injectedAt: injectedAt.toISOString(),
    };
    this.#log({ level: 'WARN', message: 'fault injected', ...record });
    if (injected.durationSeconds === undefined) {
      this.#finish(record, 'instant');
      return { ...record };
    }
    const active: Active = { record, heal: injected.heal };
    record.healsAt = new Date(injectedAt.getTime() + injected.durationSeconds * 1000).toISOString();
    active.timer = setTimeout(() => void this.#heal(active, 'duration'), injected.durationSeconds * 1000);
    this.#active.set(record.id, active);
    void injected.exhausted?.then(() => this.#heal(active, 'exhausted'));
    return { ...record };
  }

  /** Heals one active fault now; `undefined` when there is no such active fault. */
  async heal(id: string): Promise<FaultRecord | undefined> {
    const active = this.#active.get(id);
    if (!active) return undefined;
    await this.#heal(active, 'request');
    return { ...active.record };
  }

  /** Heals every active fault (the cloud is stopping, or the caller wants a clean slate). */
  async healAll(reason: 'request' | 'stop' = 'request'): Promise<FaultRecord[]> {
    if (reason === 'stop') this.#stopped = true;
    const all = [...this.#active.values()];
    await Promise.all(all.map((a) => this.#heal(a, reason)));
    return all.map((a) => ({ ...a.record }));
  }

  #heal(active: Active, by: NonNullable<FaultRecord['healedBy']>): Promise<void> {
    active.healing ??= (async () => {
      clearTimeout(active.timer);
      try {
        await active.heal();
        this.#finish(active.record, by);
      } catch (error) {
        active.record.error = (error as Error).message;
        this.#finish(active.record, by, 'heal-failed');
      } finally {
        this.#active.delete(active.record.id);
      }
    })();
    return active.healing;
  }

  #finish(
    record: FaultRecord,
    by: NonNullable<FaultRecord['healedBy']>,
    status: FaultRecord['status'] = 'healed',
  ) {
    record.status = status;
    record.healedAt = new Date().toISOString();
    record.healedBy = by;
    this.#history.push(record);
    if (this.#history.length > HISTORY) this.#history.shift();
    this.#log({ level: status === 'healed' ? 'INFO' : 'ERROR', message: 'fault healed', ...record });
  }
}

/**
 * `/_local/faults` over HTTP: `GET` lists kinds and faults, `POST {kind, ...params}` injects (201),
 * `DELETE /_local/faults/{id}` heals one, `DELETE /_local/faults` heals all.
 */
export async function handleFaultRequest(
  faults: FaultController,
  method: string,
  id: string | undefined,
  body: string,
): Promise<{ status: number; body: unknown }> {
  try {
    if (method === 'GET' && !id)
      return { status: 200, body: { kinds: faults.kinds(), faults: faults.list() } };
    if (method === 'POST' && !id) {
      let request: unknown;
      try {
        request = body ? JSON.parse(body) : {};
      } catch {
        throw new FaultError(400, 'The body must be a JSON object', 'body');
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request)) {
        throw new FaultError(400, 'The body must be a JSON object', 'body');
      }
      const { kind, ...params } = request as Record<string, unknown>;
      if (typeof kind !== 'string') throw new FaultError(400, 'kind is required', 'kind');
      return { status: 201, body: await faults.inject(kind, params) };
    }
    if (method === 'DELETE' && id) {
      const healed = await faults.heal(id);
      return healed
        ? { status: 200, body: healed }
        : { status: 404, body: { message: `No active fault ${id}` } };
    }
    if (method === 'DELETE') return { status: 200, body: await faults.healAll() };
    return { status: 405, body: { message: `${method} is not supported on /_local/faults` } };
  } catch (error) {
    if (error instanceof FaultError) {
      return {
        status: error.status,
        body: { message: error.message, ...(error.field ? { field: error.field } : {}) },
      };
    }
    return { status: 500, body: { message: (error as Error).message } };
  }
}
