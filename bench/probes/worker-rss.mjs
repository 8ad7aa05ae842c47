#!/usr/bin/env node
// What one idle split-scan worker costs in memory (docs/performance.md, "Tried, measured, not
// kept"): this process's RSS before and 1.5 s after starting dist/bundle/split-worker.js as a
// worker thread (with the control words and port it expects, and no work); with `empty`, a worker
// that loads nothing, so the bundle's own share shows. One kind per process (memory a worker
// leaves behind would blur the next). Run it as the launcher runs node; needs `npm run build`.
//   env -u NODE_EXTRA_CA_CERTS MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 \
//     --heap-growing-percent=10 bench/probes/worker-rss.mjs [empty]
import { readFileSync } from 'node:fs';
import { MessageChannel, Worker } from 'node:worker_threads';

const rss = () => Number(readFileSync('/proc/self/status', 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
const empty = process.argv[2] === 'empty';
const before = rss();
const { port1, port2 } = new MessageChannel();
const worker = empty
  ? new Worker('setTimeout(() => {}, 1e6)', { eval: true })
  : new Worker(new URL('../../dist/bundle/split-worker.js', import.meta.url), {
      workerData: {
        worker: 1,
        ctl: new Int32Array(new SharedArrayBuffer(4 * 64)),
        progress: new Float64Array(new SharedArrayBuffer(8 * 12)),
        port: port2,
      },
      transferList: [port2],
    });
worker.on('error', (e) => {
  console.error(`the worker failed to load: ${e.message}`);
  process.exit(1);
});
await new Promise((r) => setTimeout(r, 1500));
console.log(
  `${empty ? 'an empty worker' : 'split-worker.js, loaded and idle'}: +${(rss() - before).toFixed(1)} MB`,
);
port1.close();
process.exit(0);
