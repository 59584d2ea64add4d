import { LIMITS, SCENARIOS, trialsLimit, VISIBILITY_TRIALS } from '../../shared/lab/domain/limits.ts';

export type LabField = keyof typeof LIMITS;
export const LAB_FIELDS = Object.keys(LIMITS) as LabField[];

/**
 * Checks a `POST /consistency/experiments` body the way the API's schema does (same ranges, same
 * messages, from the same constants), so the form shows a field's error before anything is sent.
 * `test/unit/web-lab-request.test.ts` holds it to the API's zod schema.
 *
 * @example
 * checkExperiment({ scenario: 'oversell', concurrency: 100 }); // { errors: { concurrency: 'must be at most 64' } }
 */
export function checkExperiment(
  body: Record<string, unknown>,
): { ok: true; body: Record<string, unknown> } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (!(SCENARIOS as readonly unknown[]).includes(body.scenario))
    errors.scenario = `must be one of ${SCENARIOS.join(', ')}`;
  for (const field of LAB_FIELDS) {
    const value = body[field];
    if (value === undefined) continue;
    // trials: checked over the widest range (t-visibility's), then against the scenario's own.
    const { min, max } = field === 'trials' ? VISIBILITY_TRIALS : LIMITS[field];
    if (typeof value !== 'number' || !Number.isSafeInteger(value))
      errors[field] = `must be an integer from ${min} to ${max}`;
    else if (value < min) errors[field] = `must be at least ${min}`;
    else if (value > max) errors[field] = `must be at most ${max}`;
    else if (field === 'trials' && value > trialsLimit(body.scenario).max)
      errors[field] = `must be at most ${trialsLimit(body.scenario).max}`;
  }
  for (const key of Object.keys(body))
    if (key !== 'scenario' && !(LAB_FIELDS as string[]).includes(key)) errors[key] = 'is not a parameter';
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, body };
}
