import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processTree, treeRss } from '../../bench/lib/cloud.ts';

/*
 * The local-cloud bench row measures the memory of a whole process tree. RSS summed over processes
 * counts every shared page (the Node binary, Postgres' shared buffers) once per process; PSS divides
 * each shared page among the processes that map it (proc(5), /proc/<pid>/smaps_rollup).
 */
describe('bench process-tree memory', () => {
  it('reads each process’s PSS, at most its RSS, and sums both over the tree', async () => {
    const children = [1, 2, 3].map(() => spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']));
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const tree = processTree(process.pid);
      for (const child of children) expect(tree.map((p) => p.pid)).toContain(child.pid);
      for (const p of tree) {
        expect(p.pssKb).toBeGreaterThan(0);
        expect(p.pssKb).toBeLessThanOrEqual(p.rssKb);
      }
      const sum = treeRss(process.pid);
      expect(sum.processes).toBe(tree.length);
      // Four Node processes share the binary's pages: PSS counts them once, RSS four times.
      expect(sum.mb).toBeLessThan(sum.rssMb);
    } finally {
      for (const child of children) child.kill();
    }
  });
});
