/**
 * The lab API's use cases: start an experiment (run it now or queue it), list past ones a page at a
 * time, read one. `functions/consistency/api.ts` routes, validates and answers; the rules live here.
 *
 * @module
 */
import { z } from 'zod';
import { CursorTimestamp, decodeCursor, encodeCursor } from '../../http/cursor.ts';
import { badRequest, HttpError } from '../../http/errors.ts';
import { UUID } from '../../ids.ts';
import { publishExperimentRequested } from '../adapters/events.ts';
import { finish, getExperiment, LabBusy, listExperiments, recordRequest } from '../adapters/store.ts';
import {
  type ExperimentParameters,
  estimateDurationMs,
  INLINE_LIMIT_MS,
  MAX_RUN_MS,
  OPEN_CONCURRENCY,
} from '../domain/parameters.ts';
import type { ExperimentReport } from '../domain/report.ts';
import { deadlineIn, runNow } from './experiment.ts';

export interface StartExperimentInput {
  parameters: ExperimentParameters;
  userId: string;
  isAdmin: boolean;
  /** The function's remaining time: runs that fit in it (and in API Gateway's 29 s) run now. */
  remainingMs: number;
  /** The request's budget within `remainingMs` (`requestBudgetMs`). */
  budgetMs: number;
  target: string;
  onCleanupError?: (error: unknown, experimentId: string) => void;
}

/**
 * Runs the experiment now (201 with its report), or, when it would outlast API Gateway's 29 s,
 * records it and queues it for the runner (202). 403 above the open concurrency for non-admins,
 * 400 when it would run past the lab's limit, 429 when the lab is busy.
 */
export async function startExperiment(
  input: StartExperimentInput,
): Promise<
  | { status: 202; body: { experimentId: string; status: 'queued'; estimatedSeconds: number } }
  | { status: 201; body: ExperimentReport }
> {
  const { parameters, userId } = input;
  if (parameters.concurrency > OPEN_CONCURRENCY && !input.isAdmin) {
    throw new HttpError(403, 'FORBIDDEN', `Concurrency above ${OPEN_CONCURRENCY} needs the admin group`, [
      { path: 'body.concurrency', message: `must be at most ${OPEN_CONCURRENCY} unless you are an admin` },
    ]);
  }
  const estimatedMs = estimateDurationMs(parameters);
  if (estimatedMs > MAX_RUN_MS) {
    throw badRequest('This experiment would run too long', [
      {
        path: 'body',
        message: `would take about ${Math.ceil(estimatedMs / 60_000)} min (limit ${MAX_RUN_MS / 60_000} min): lower trials, stock, concurrency or thinkTimeMs`,
      },
    ]);
  }
  const experimentId = crypto.randomUUID();
  if (estimatedMs > INLINE_LIMIT_MS) {
    await queue(experimentId, parameters, userId);
    const estimatedSeconds = Math.ceil(estimatedMs / 1000);
    return { status: 202, body: { experimentId, status: 'queued', estimatedSeconds } };
  }
  const report = await runNow({
    experimentId,
    parameters,
    requestedBy: userId,
    target: input.target,
    deadline: deadlineIn(input.budgetMs),
    stopsAt: new Date(Date.now() + input.remainingMs),
    onCleanupError: (error) => input.onCleanupError?.(error, experimentId),
  }).catch((error: unknown) => {
    if (error instanceof LabBusy) throw new HttpError(429, 'LAB_BUSY', error.message);
    throw error;
  });
  if (report.status === 'failed') {
    throw new HttpError(500, 'EXPERIMENT_FAILED', `Experiment ${experimentId} failed: ${report.error}`);
  }
  return { status: 201, body: report };
}

/** Records the request and asks the runner for it; a request that cannot be queued is stored failed. */
async function queue(experimentId: string, parameters: ExperimentParameters, requestedBy: string) {
  await recordRequest({ experimentId, parameters, requestedBy });
  try {
    await publishExperimentRequested(experimentId);
  } catch (error) {
    await finish({
      experimentId,
      scenario: parameters.scenario,
      parameters,
      status: 'failed',
      requestedAt: new Date().toISOString(),
      error: 'The request could not be queued',
    });
    throw error;
  }
}

const Cursor = z.object({ t: CursorTimestamp, id: z.string().regex(UUID) });

/** Past experiments, newest first (optionally one scenario's), a page at a time. */
export async function experimentPage(query: {
  limit: number;
  scenario?: ExperimentParameters['scenario'] | undefined;
  cursor?: string | undefined;
}): Promise<{ items: ExperimentReport[]; nextCursor: string | null }> {
  const cursor = decodeCursor(query.cursor, Cursor);
  const page = await listExperiments({
    limit: query.limit,
    ...(query.scenario && { scenario: query.scenario }),
    ...(cursor && { after: { requestedAt: cursor.t, experimentId: cursor.id } }),
  });
  const { last } = page;
  return {
    items: page.items,
    nextCursor: last ? encodeCursor({ t: last.requestedAt, id: last.experimentId }) : null,
  };
}

/** One experiment, or undefined when there is none with that id (or the id is not a UUID). */
export const experimentById = async (experimentId: string) =>
  UUID.test(experimentId) ? await getExperiment(experimentId) : undefined;
