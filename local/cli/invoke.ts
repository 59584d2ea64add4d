/**
 * `npm run invoke -- <function> [--event <file.json>]`: invokes one function of the running local
 * cloud directly (no API Gateway), like `aws lambda invoke`. `<function>` is its full name or a
 * unique part of it (e.g. `Health`). Prints the result; exits 1 when the function failed.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { controlFetch, runningCloud } from './endpoints.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { event: { type: 'string' }, 'state-dir': { type: 'string' } },
});

try {
  const [wanted] = positionals;
  if (!wanted) throw new Error('Usage: npm run invoke -- <function> [--event <file.json>]');
  const cloud = runningCloud(values['state-dir']);
  const matches = cloud.functions.filter(
    (name) => name === wanted || name.toLowerCase().includes(wanted.toLowerCase()),
  );
  const name = matches.includes(wanted) ? wanted : matches.length === 1 ? matches[0] : undefined;
  if (!name) {
    throw new Error(
      `${matches.length ? 'Ambiguous' : 'Unknown'} function "${wanted}". Functions: ${cloud.functions.join(', ')}`,
    );
  }
  const event = values.event ? readFileSync(values.event, 'utf8') : '{}';
  JSON.parse(event); // a clear error for a file that is not JSON
  const response = await controlFetch(cloud, `/functions/${encodeURIComponent(name)}/invoke`, {
    method: 'POST',
    body: event,
  });
  const result = (await response.json()) as { ok: boolean };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(result.ok ? 0 : 1);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
