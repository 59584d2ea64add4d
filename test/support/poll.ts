/**
 * Retries `check` until it stops throwing or the deadline passes (for effects that travel through
 * events or run in the background): no fixed sleeps, and the last failure is what the test reports.
 *
 * @example
 * const product = await eventually(async () => {
 *   const p = await getProduct(id);
 *   expect(p.available).toBe(25);
 *   return p;
 * }, { timeoutMs: 60_000 });
 */
export async function eventually<T>(
  check: () => Promise<T>,
  {
    timeoutMs = 10_000,
    intervalMs = 50,
    maxIntervalMs,
  }: { timeoutMs?: number; intervalMs?: number; maxIntervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let wait = intervalMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, maxIntervalMs ?? intervalMs);
    }
  }
}
