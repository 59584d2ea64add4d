/**
 * `npm run local -- <command>`: looks into the running local cloud, like the AWS console would.
 *
 *   functions              deployed functions with their environment and worker statistics
 *   routes                 API routes: method, path under the stage, authorization, function
 *   rules                  EventBridge rules (patterns, schedules, targets)
 *   dead-letters           event deliveries that failed after their retries
 *   run-schedule <rule>    fires a scheduled rule now (schedules never fire by themselves locally)
 */
import { parseArgs } from 'node:util';
import { runningCloud } from './endpoints.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { 'state-dir': { type: 'string' } },
});
const [command, name] = positionals;

const routes: Record<string, { method: string; path: string } | undefined> = {
  functions: { method: 'GET', path: '/functions' },
  routes: { method: 'GET', path: '/routes' },
  rules: { method: 'GET', path: '/rules' },
  'dead-letters': { method: 'GET', path: '/dead-letters' },
  'run-schedule': name ? { method: 'POST', path: `/schedules/${encodeURIComponent(name)}/run` } : undefined,
};

try {
  const route = command ? routes[command] : undefined;
  if (!route) {
    throw new Error(
      'Usage: npm run local -- functions | routes | rules | dead-letters | run-schedule <rule-name>',
    );
  }
  const cloud = runningCloud(values['state-dir']);
  const response = await fetch(`${cloud.servicesUrl}/_local${route.path}`, { method: route.method });
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
