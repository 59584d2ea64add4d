/**
 * The AWS FIS API's experiment calls (`StartExperiment`, `GetExperiment`, `StopExperiment`), served by
 * the local cloud at `AWS_ENDPOINT_URL_FIS` so the lab starts a fault the same way on both targets:
 * on AWS an experiment template of the Chaos stack runs FIS actions, here a local template runs fault
 * kinds of the one {@link FaultController}. Application code never injects a fault itself.
 *
 * A local template is a list of steps run in order, each after its `delayMs`; an action with a
 * duration goes on while the next ones start (FIS runs actions in parallel unless `startAfter` says
 * otherwise). The experiment is `completed` once every step was injected and every fault it made
 * has healed; `StopExperiment` heals them at once.
 *
 * @see https://docs.aws.amazon.com/fis/latest/APIReference/API_StartExperiment.html
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { FaultController } from './controller.ts';

export interface LocalTemplateStep {
  /** The local fault kind this FIS action maps to. */
  kind: string;
  params?: Record<string, unknown>;
  /** Wait this long after the previous step was injected (an `aws:fis:wait` between actions). */
  delayMs?: number;
  /** The FIS action it stands for, shown in the experiment's actions. */
  actionId: string;
}

/**
 * The lab's templates (ids in the lab functions' `LAB_FAULT_TEMPLATES`), with the AWS action each
 * step stands for.
 */
export const LOCAL_TEMPLATES: Record<string, { description: string; steps: LocalTemplateStep[] }> = {
  'local-failover': {
    description: 'Crash of the Postgres primary, promotion of the standby after 1 s, a new standby',
    steps: [
      { kind: 'kill-primary', params: { downSeconds: 5 }, actionId: 'aws:rds:reboot-db-instances' },
      // Failure detection: RDS takes 60-120 s on AWS; locally a supervisor notices within a second.
      { kind: 'promote', delayMs: 1_000, actionId: 'aws:rds:reboot-db-instances' },
      { kind: 'rebuild-standby', delayMs: 500, actionId: 'aws:rds:reboot-db-instances' },
    ],
  },
  'local-synchronous-replication': {
    description: 'synchronous_standby_names on the primary for up to 5 min (stopped by the lab)',
    steps: [
      { kind: 'synchronous-replication', params: { seconds: 300 }, actionId: 'local:postgres:synchronous' },
    ],
  },
  'local-replication-lag': {
    description: '20 ms each way on the Postgres replication link for up to 5 min (stopped by the lab)',
    steps: [
      {
        kind: 'lag',
        params: { link: 'postgres-replication', ms: 20, seconds: 300 },
        actionId: 'aws:network:route-table-disrupt-cross-region-connectivity',
      },
    ],
  },
  'local-partition-regions': {
    description: 'Cuts eu from us for up to 5 min (stopped by the lab)',
    steps: [
      {
        kind: 'partition',
        params: { link: 'regions', seconds: 300 },
        actionId: 'aws:dynamodb:global-table-pause-replication',
      },
    ],
  },
};

type Status = 'running' | 'completed' | 'stopped' | 'failed';

interface Experiment {
  id: string;
  experimentTemplateId: string;
  state: { status: Status; reason?: string };
  startTime: string;
  endTime?: string;
  faultIds: string[];
  stopped: boolean;
}

const view = (e: Experiment) => ({
  id: e.id,
  experimentTemplateId: e.experimentTemplateId,
  state: e.state,
  startTime: e.startTime,
  ...(e.endTime ? { endTime: e.endTime } : {}),
  // Local addition: the faults it injected, as listed by `npm run local -- faults`.
  faultIds: e.faultIds,
});

/** Runs local templates on the fault controller and answers the FIS API's experiment calls. */
export class LocalExperiments {
  readonly #faults: FaultController;
  readonly #experiments = new Map<string, Experiment>();

  constructor(faults: FaultController) {
    this.#faults = faults;
  }

  start(templateId: string): Experiment {
    const template = LOCAL_TEMPLATES[templateId];
    if (!template)
      throw Object.assign(new Error(`Experiment template ${templateId} not found`), { status: 404 });
    const experiment: Experiment = {
      id: `EXP${randomUUID().replaceAll('-', '').slice(0, 17)}`,
      experimentTemplateId: templateId,
      state: { status: 'running' },
      startTime: new Date().toISOString(),
      faultIds: [],
      stopped: false,
    };
    this.#experiments.set(experiment.id, experiment);
    void this.#run(experiment, template.steps);
    return experiment;
  }

  async #run(experiment: Experiment, steps: LocalTemplateStep[]): Promise<void> {
    try {
      for (const step of steps) {
        if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
        if (experiment.stopped) return;
        const fault = await this.#faults.inject(step.kind, step.params ?? {});
        experiment.faultIds.push(fault.id);
      }
      // Completed when the faults it made have healed (their durations, or StopExperiment).
      while (!experiment.stopped && this.#active(experiment)) await new Promise((r) => setTimeout(r, 200));
      if (!experiment.stopped) this.#end(experiment, 'completed');
    } catch (error) {
      await this.#healAll(experiment);
      this.#end(experiment, 'failed', (error as Error).message);
    }
  }

  #active(experiment: Experiment): boolean {
    const active = new Set(
      this.#faults
        .list()
        .filter((f) => f.status === 'active')
        .map((f) => f.id),
    );
    return experiment.faultIds.some((id) => active.has(id));
  }

  async #healAll(experiment: Experiment): Promise<void> {
    for (const id of experiment.faultIds) await this.#faults.heal(id);
  }

  #end(experiment: Experiment, status: Status, reason?: string) {
    if (experiment.endTime) return;
    experiment.state = reason ? { status, reason } : { status };
    experiment.endTime = new Date().toISOString();
  }

  async stop(id: string): Promise<Experiment | undefined> {
    const experiment = this.#experiments.get(id);
    if (!experiment) return undefined;
    experiment.stopped = true;
    await this.#healAll(experiment);
    this.#end(experiment, 'stopped', 'Experiment stopped by request');
    return experiment;
  }

  /**
   * The FIS REST API: `POST /experiments`, `GET /experiments/{id}`, `DELETE /experiments/{id}`.
   * Answers `undefined` for any other path.
   */
  async handle(
    method: string,
    pathname: string,
    body: string,
  ): Promise<{ status: number; body: unknown } | undefined> {
    const [first, id, extra] = pathname.split('/').filter(Boolean);
    if (first !== 'experiments' || extra) return undefined;
    try {
      if (method === 'POST' && !id) {
        const request = JSON.parse(body || '{}') as { experimentTemplateId?: unknown };
        if (typeof request.experimentTemplateId !== 'string')
          return { status: 400, body: { message: 'experimentTemplateId is required' } };
        return { status: 200, body: { experiment: view(this.start(request.experimentTemplateId)) } };
      }
      if (id && (method === 'GET' || method === 'DELETE')) {
        const experiment = method === 'GET' ? this.#experiments.get(id) : await this.stop(id);
        return experiment
          ? { status: 200, body: { experiment: view(experiment) } }
          : { status: 404, body: { message: `Experiment ${id} not found` } };
      }
      return { status: 405, body: { message: `${method} ${pathname} is not supported` } };
    } catch (error) {
      const status = (error as { status?: number }).status ?? 400;
      return { status, body: { message: (error as Error).message } };
    }
  }
}
