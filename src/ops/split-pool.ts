/**
 * The threads of a split scan (split-scan.ts): how many a scan gets, and its worker threads,
 * started ahead of it.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { libcAvailable } from '../sys/libc.js';
import { CTL, CTL_PER_WORKER, MAX_WORKERS, type WorkerInit } from './split-protocol.js';

// The worker's one-file bundle (scripts/bundle.mjs), named from dist/'s top: the same from
// dist/ops/ and from the CLI's bundle in dist/bundle/, one folder deep too.
const WORKER_URL = new URL('../bundle/split-worker.js', import.meta.url);

/** Below this many entries (the last baseline's count) `threads: 0` walks on one thread. */
export const SPLIT_MIN_ENTRIES = 2048;

/**
 * How many threads a full scan is split over, the caller's included: `threads` as configured
 * (`scan.threads`; 0 is one per CPU, up to 4, unless the tree is known to be small: a worker
 * takes about 200 ms to start here); 1, no split, where the worker's script is not there to load
 * (the tests' TypeScript sources) or libc cannot be used.
 */
export function splitWorkers(threads: number, expectedEntries?: number): number {
  if (threads === 0 && expectedEntries !== undefined && expectedEntries < SPLIT_MIN_ENTRIES) return 1;
  const n = threads > 0 ? threads : Math.min(4, availableParallelism());
  // Handed directories are opened with openat(2) through libc (a descriptor Node's fs did not
  // open must not be closed through it in another thread).
  if (n < 2 || !libcAvailable() || !existsSync(fileURLToPath(WORKER_URL))) return 1;
  return Math.min(n, MAX_WORKERS);
}

/**
 * The worker threads of one split scan, started ahead of it: a worker takes 100 to 200 ms to
 * load its modules here, which a command spends on its own start (configuration, keys, the
 * database) when the pool is started first. Used once: the scan it serves closes it.
 */
export class SplitPool {
  readonly ctl: Int32Array;
  readonly progress: Float64Array;
  readonly workers: (Worker | null)[] = [null];
  readonly ports: (MessagePort | null)[] = [null];

  private constructor(
    readonly n: number,
    private readonly script: URL,
  ) {
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * (CTL.base + CTL_PER_WORKER * n)));
    this.progress = new Float64Array(new SharedArrayBuffer(8 * 6 * n));
    try {
      this.spawn();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private spawn(): void {
    for (let w = 1; w < this.n; w++) {
      const { port1, port2 } = new MessageChannel();
      const init: WorkerInit & { port: MessagePort } = {
        worker: w,
        ctl: this.ctl,
        progress: this.progress,
        port: port2,
      };
      this.ports.push(port1);
      const worker = new Worker(this.script, { workerData: init, transferList: [port2] });
      // A worker that dies before it is up (its modules fail to load) never says it is ready:
      // the walk goes on without it. Its error event must not become an uncaught one later.
      worker.on('error', () => {});
      this.workers.push(worker);
    }
  }

  /**
   * Threads for a scan split `n` ways (splitWorkers), this one included; null for no split, and
   * where a worker thread cannot be started (the scan then walks on one thread, as without it).
   * `script`: the workers' script (the tests give one that cannot start).
   */
  static start(n: number, script: URL = WORKER_URL): SplitPool | null {
    if (n < 2) return null;
    try {
      return new SplitPool(n, script);
    } catch {
      return null;
    }
  }

  close(): void {
    for (const w of this.workers) void w?.terminate();
    for (const p of this.ports) p?.close();
    this.workers.length = 0;
    this.ports.length = 0;
  }
}
