/**
 * `npm run local -- <command>`: looks into (and breaks) the running local cloud, like the AWS console would.
 *
 *   functions                         deployed functions with their environment and worker statistics
 *   routes                            API routes: method, path under the stage, authorization, function
 *   rules                             EventBridge rules (patterns, schedules, targets)
 *   events                            EventBridge deliveries pending (on disk) and counters
 *   dead-letters                      event deliveries that failed after their retries
 *   run-schedule <rule>               fires a scheduled rule now (schedules never fire by themselves locally)
 *   faults                            fault kinds, active faults and recent ones
 *   faults inject <kind> [k=v ...]    injects a fault, e.g. `faults inject freeze-dynamodb seconds=5`
 *   faults heal [id]                  heals one fault, or all
 *
 * Authenticates with the control token in `<state-dir>/control-token`.
 */
import { parseArgs } from 'node:util';
import { controlFetch, runningCloud } from './endpoints.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { 'state-dir': { type: 'string' } },
});
const [command, name, ...rest] = positionals;

/** `seconds=5` → 5, `all=true` → true, anything else a string. */
function faultParams(pairs: string[]): Record<string, unknown> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`Fault parameters are key=value, got "${pair}"`);
      const [key, raw] = [pair.slice(0, at), pair.slice(at + 1)];
      const value = /^-?\d+$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw;
      return [key, value];
    }),
  );
}

function route(): { method: string; path: string; body?: string } | undefined {
  switch (command) {
    case 'functions':
    case 'routes':
    case 'rules':
    case 'events':
    case 'dead-letters':
      return { method: 'GET', path: `/${command}` };
    case 'run-schedule':
      return name ? { method: 'POST', path: `/schedules/${encodeURIComponent(name)}/run` } : undefined;
    case 'faults':
      if (!name) return { method: 'GET', path: '/faults' };
      if (name === 'inject' && rest[0])
        return {
          method: 'POST',
          path: '/faults',
          body: JSON.stringify({ kind: rest[0], ...faultParams(rest.slice(1)) }),
        };
      if (name === 'heal')
        return { method: 'DELETE', path: rest[0] ? `/faults/${encodeURIComponent(rest[0])}` : '/faults' };
      return undefined;
    default:
      return undefined;
  }
}

try {
  const wanted = route();
  if (!wanted) {
    throw new Error(
      'Usage: npm run local -- functions | routes | rules | events | dead-letters | run-schedule <rule-name>\n' +
        '       npm run local -- faults | faults inject <kind> [key=value ...] | faults heal [id]',
    );
  }
  const cloud = runningCloud(values['state-dir']);
  const response = await controlFetch(cloud, wanted.path, { method: wanted.method, body: wanted.body });
  const body = JSON.parse(await response.text()) as unknown;
  if (command === 'routes' && response.ok) {
    // One line a route: METHOD  /<stage>/path  authorization  function
    const rows = body as {
      method: string;
      stagePath: string;
      authorizationType: string;
      functionArn: string;
    }[];
    const width = Math.max(0, ...rows.map((r) => r.stagePath.length));
    for (const r of rows) {
      const fn = r.functionArn.split(':').pop();
      process.stdout.write(
        `${r.method.padEnd(7)} ${r.stagePath.padEnd(width)}  ${r.authorizationType.padEnd(6)}  ${fn}\n`,
      );
    }
  } else process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
