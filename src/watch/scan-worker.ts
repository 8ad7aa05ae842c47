/**
 * Full checks off the daemon's event loop. Hashing is synchronous (about 0.2 s per GiB) and a full
 * check of a large tree takes seconds; in a worker thread it no longer delays events, heartbeats or
 * SIGTERM. The worker has its own read-only database connection and its own copy of the policy;
 * it only reads and compares, and hands the result back: journaling and alerting stay in the main
 * thread, in one place.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Explainer, type ExplainSettings } from '../explain/explainer.js';
import { asBuffer, reviveFinding } from '../fields.js';
import { verifyBaseline } from '../ops/baseline.js';
import { type CompareResult, compareScope } from '../ops/check.js';
import { loadPolicies } from '../policy/policy.js';
import { RuleIndex } from '../policy/rule-index.js';
import { type BaselineMeta, Store } from '../store/store.js';
import type { Finding, ScanError } from '../types.js';
import { decodeError, encodeError, type WireError } from '../worker-error.js';

export interface CompareRequest {
  baselineId: number;
  policyFiles: string[];
  /** The policy's hash: the worker reloads its copy when this changes. */
  policyHash: string;
  scope?: Buffer[];
  scopeDepth?: number;
  fast: boolean;
  /** Send findings in batches of this many as they are found (`compare`'s onBatch), not in the result. */
  batch?: number;
  /**
   * Verify the baseline's records against this root (the daemon's verified copy of the baseline,
   * not the database's metadata, which an intruder could edit too) before comparing anything.
   */
  verify?: BaselineMeta;
  /** Manifests that may explain the findings (src/explain/); a fresh explainer per request. */
  explain?: ExplainSettings;
}

type Reply =
  | { id: number; ok: true; result: CompareResult }
  | { id: number; ok: false; error: WireError }
  | { id: number; batch: Finding[] };

/**
 * Batches the main thread accepts ahead of handling them. The worker blocks (Atomics.wait on a
 * shared counter) when they are used up: a check where every file changed streams its findings
 * through a bounded window instead of queueing all of them in the main thread's message port.
 */
const CREDITS = 4;

export function reviveResult(r: CompareResult): CompareResult {
  for (const f of r.findings as Finding[]) reviveFinding(f);
  for (const e of r.errors as ScanError[]) e.path = asBuffer(e.path);
  r.directories = r.directories.map(asBuffer);
  return r;
}

/**
 * After this long without a request the worker is stopped: its V8 heap (20-30 MB after a full
 * check of 50,000 files) is given back between the hourly checks instead of sitting in the
 * daemon's RSS. Starting one again costs about 50 ms.
 */
const IDLE_MS = 2_000;

/** The main thread's handle on the worker: one request at a time, in order; started on demand. */
export class ScanWorker {
  private worker: Worker | null = null;
  private credits: Int32Array | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private next = 1;
  private readonly pending = new Map<
    number,
    {
      resolve: (r: CompareResult) => void;
      reject: (e: Error) => void;
      onBatch: ((findings: Finding[]) => void) | undefined;
    }
  >();

  constructor(
    private readonly database: string,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** Whether a worker thread is running now (tests). */
  get running(): boolean {
    return this.worker !== null;
  }

  /** Batches the worker may still send before it must wait (tests: 0 to CREDITS). */
  get creditsLeft(): number {
    return this.credits ? Atomics.load(this.credits, 0) : CREDITS;
  }

  private start(): Worker {
    // A full check streams, so its live heap is small; without a cap V8 lets the worker's heap
    // grow with the garbage of each pass, and the daemon's memory with it.
    const credits = new Int32Array(new SharedArrayBuffer(4));
    credits[0] = CREDITS;
    this.credits = credits;
    // This module is the worker's script too, run from its bundle (scripts/bundle.mjs), named
    // from dist/'s top: the same from dist/watch/ and from the CLI's bundle in dist/bundle/.
    const worker = new Worker(new URL('../bundle/scan-worker.js', import.meta.url), {
      workerData: { database: this.database, credits },
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 4 },
    });
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if ('batch' in m) {
        try {
          for (const f of m.batch) reviveFinding(f);
          p.onBatch?.(m.batch);
        } finally {
          // Handled (or failed): the worker may send the next one.
          Atomics.add(credits, 0, 1);
          Atomics.notify(credits, 0);
        }
        return;
      }
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.armIdle();
      if (m.ok) p.resolve(reviveResult(m.result));
      // The same class as thrown in the worker, with its exit code and cause (worker-error.ts).
      else p.reject(decodeError(m.error));
    });
    worker.on('error', (err) => this.failAll(worker, err));
    worker.on('exit', (code) => this.failAll(worker, new Error(`scan worker exited (${code})`)));
    return worker;
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending.size > 0 || !this.worker) return;
      const w = this.worker;
      this.worker = null;
      void w.terminate();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private failAll(worker: Worker, err: Error): void {
    // A worker stopped for idleness had nothing pending, and later requests went to a new one.
    if (this.worker !== worker) return;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /**
   * Compare in the worker. With `onBatch`, findings arrive through it in batches while the worker
   * scans (the result's `findings` is then empty); each batch is handled before the worker may
   * send more than CREDITS ahead.
   */
  compare(req: CompareRequest, onBatch?: (findings: Finding[]) => void): Promise<CompareResult> {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    this.worker ??= this.start();
    const worker = this.worker;
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onBatch });
      worker.postMessage({ id, req: onBatch ? { ...req, batch: req.batch ?? 256 } : req });
    });
  }

  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const data = workerData as { database: string; credits: Int32Array };
  // Opened on the first request, inside its try: a database that cannot be opened is that
  // request's typed error (StorageError), not an uncaught exception that kills the thread.
  let store: Store | null = null;
  const credits = data.credits;
  /** Wait for the main thread to accept one more batch. */
  const takeCredit = () => {
    for (;;) {
      const v = Atomics.load(credits, 0);
      if (v > 0 && Atomics.compareExchange(credits, 0, v, v - 1) === v) return;
      if (v <= 0) Atomics.wait(credits, 0, v, 1000);
    }
  };
  let policyKey = '';
  let index: RuleIndex | null = null;
  port.on('message', ({ id, req }: { id: number; req: CompareRequest }) => {
    try {
      store ??= Store.open(data.database, { readonly: true });
      const key = req.policyHash;
      if (!index || key !== policyKey) {
        index = new RuleIndex(loadPolicies(req.policyFiles).rules);
        policyKey = key;
      }
      // The verification and the comparison read one snapshot: a row edited between the two
      // reads would otherwise be compared without having been verified.
      const s = store;
      const idx = index;
      let flush = () => {};
      const result = s.readTransaction(() => {
        if (req.verify) {
          // Every full check re-reads the whole baseline against the signed root first: a record
          // edited while the daemon runs is refused before any finding is drawn from it.
          const v = req.verify;
          verifyBaseline(s, { ...v, root: asBuffer(v.root), policyHash: asBuffer(v.policyHash) });
        }
        let batch: Finding[] = [];
        flush = () => {
          if (batch.length === 0) return;
          takeCredit();
          port.postMessage({ id, batch } satisfies Reply);
          batch = [];
        };
        const size = req.batch;
        return compareScope({
          store: s,
          baselineId: req.baselineId,
          index: idx,
          ...(req.scope ? { scope: req.scope.map(asBuffer) } : {}),
          ...(req.scopeDepth !== undefined ? { scopeDepth: req.scopeDepth } : {}),
          fast: req.fast,
          collectDirectories: true,
          // Fresh for each scan: a deploy or an upgrade replaces manifests while the daemon runs.
          ...(req.explain ? { explainer: new Explainer(req.explain) } : {}),
          ...(size
            ? {
                onFinding: (f: Finding) => {
                  batch.push(f);
                  if (batch.length >= size) flush();
                },
              }
            : {}),
        });
      });
      flush();
      port.postMessage({ id, ok: true, result } satisfies Reply);
    } catch (err) {
      port.postMessage({ id, ok: false, error: encodeError(err) } satisfies Reply);
    }
  });
}
