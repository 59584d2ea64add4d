/** A dependency check: resolves when the dependency answered, rejects (or times out) otherwise. */
export type Probe = () => Promise<unknown>;

export interface CheckResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  checks: Record<string, CheckResult>;
}

/**
 * Runs every probe in parallel, each bounded by `timeoutMs`, and reports each one's outcome.
 * The report is `ok` only when every probe succeeded.
 *
 * @example
 * const report = await checkHealth({ dynamodb: () => ddb.send(new DescribeTableCommand(...)) });
 * return json(report.status === 'ok' ? 200 : 503, report);
 */
export async function checkHealth(probes: Record<string, Probe>, timeoutMs = 2_000): Promise<HealthReport> {
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]): Promise<[string, CheckResult]> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          probe(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, { ok: true, latencyMs: elapsed(started) }];
      } catch (error) {
        return [name, { ok: false, latencyMs: elapsed(started), error: describe(error) }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const checks = Object.fromEntries(entries);
  return { status: entries.every(([, r]) => r.ok) ? 'ok' : 'degraded', checks };
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 10) / 10;

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 200);
  return String(error).slice(0, 200);
}
