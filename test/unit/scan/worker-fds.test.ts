/**
 * The daemon scans in a worker thread, and Node warns there for every descriptor closed by `fs`
 * that `fs` did not open ("closed but not opened in unmanaged mode"): the walk's openat(2) and
 * statx(2) descriptors must be closed by the side that opened them, or a full check writes one
 * warning per entry to the journal. A real worker, running the built scanner, over a real tree.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, Sandbox } from '../../helpers/fim.js';

let sb: Sandbox;
beforeAll(() => {
  sb = new Sandbox('fim-worker-fds-');
  for (let d = 0; d < 5; d++) {
    mkdirSync(sb.path(`tree/d${d}`), { recursive: true });
    for (let f = 0; f < 20; f++) sb.write(`tree/d${d}/f${f}`, `${d}${f}`);
  }
  sb.policy('  - name: t\n    severity: high\n    paths: ["{tree}/tree"]\n    check: readonly\n');
});
afterAll(() => sb.cleanup());

describe('a scan in a worker thread', () => {
  it('closes every descriptor it opened without a warning, hashing and reading attributes', () => {
    const script = `
      const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');
      if (isMainThread) {
        const w = new Worker(__filename, { workerData: process.argv.slice(2) });
        w.on('message', (n) => console.log('items', n));
      } else {
        (async () => {
          const [root, policy] = workerData;
          const { loadPolicies } = await import(root + '/dist/policy/policy.js');
          const { RuleIndex } = await import(root + '/dist/policy/rule-index.js');
          const { scanTree } = await import(root + '/dist/scan/scan.js');
          let n = 0;
          scanTree({ index: new RuleIndex(loadPolicies([policy]).rules), onItem: () => n++ });
          parentPort.postMessage(n);
        })();
      }`;
    const file = sb.write('scan-in-worker.cjs', script);
    const r = spawnSync(process.execPath, [file, ROOT, sb.policyFile], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // The tree's root, 5 directories and 100 files.
    expect(r.stdout).toContain('items 106');
    expect(r.stderr).not.toMatch(/closed but not opened/);
    expect(r.stderr).toBe('');
  });
});
