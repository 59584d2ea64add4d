/**
 * `npm run chaos -- <experiment>... | all [--quick] [--keep-state] [--json]`: starts a local cloud of
 * its own, runs each experiment (load + a fault), checks the invariants and prints them as a table.
 * Exits 1 when an invariant broke. `--quick` uses short faults and 1,500 fuzz requests (the test suite's
 * settings); the default uses faults longer than API Gateway's 29 s and 10,000 fuzz requests.
 */
import { parseArgs } from 'node:util';
import { allHeld, EXPERIMENTS, formatTable, runChaos } from '../chaos/index.ts';
import { QUICK_OPTIONS } from '../chaos/quick.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    'keep-state': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

const names = positionals.includes('all') ? EXPERIMENTS.map((e) => e.name) : positionals;
if (names.length === 0) {
  console.error(`Usage: npm run chaos -- <experiment>... | all [--quick] [--keep-state] [--json]`);
  for (const e of EXPERIMENTS) console.error(`  ${e.name.padEnd(16)} ${e.fault}`);
  process.exit(2);
}

const started = Date.now();
// Ctrl-C: exit, and the exit hook SIGKILLs the cloud this run started.
process.once('SIGINT', () => process.exit(130));
try {
  const results = await runChaos({
    root: process.cwd(),
    experiments: names,
    options: values.quick ? QUICK_OPTIONS : undefined,
    keepState: values['keep-state'],
    log: (line) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`),
  });
  process.stdout.write(values.json ? `${JSON.stringify(results, null, 2)}\n` : formatTable(results));
  process.stdout.write(
    `\n${results.length} experiment(s) in ${Math.round((Date.now() - started) / 1000)} s: ${allHeld(results) ? 'all invariants held' : 'INVARIANTS BROKEN'}\n`,
  );
  process.exit(allHeld(results) ? 0 : 1);
} catch (error) {
  console.error(`chaos: ${(error as Error).message}`);
  process.exit(1);
}
