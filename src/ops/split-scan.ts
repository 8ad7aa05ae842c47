/**
 * A full scan split over threads by subtree, for `fim baseline` and `fim check`: both cores walk,
 * stat, hash and compare, where one thread did it all while the other waited. The main thread is
 * one of the walkers (each worker thread costs 30 to 40 MB here) and walks from the root. Whenever
 * another is idle, a walk hands it the last subdirectory still to walk in its outermost open
 * directory, opened and checked against its lstat there (the receiver starts from that
 * descriptor: the walk stays descriptor-relative and never follows a symlink), and leaves a splice
 * marker at that subdirectory's place. The main thread consumes each unit's ordered items
 * (directory parts of the root, errors, findings) in key order by following the markers, and
 * stores a baseline's records as they come (SQLite keeps its own order).
 *
 * It is synchronous, as the scan it stands in for: the main thread reads the workers' messages
 * with receiveMessageOnPort between its own directories, and sleeps on a shared word the workers
 * bump after each message when it has nothing to walk, so a baseline still commits in one
 * transaction of the caller. It must not let a unit go unwalked or walked twice (each subtree is
 * handed once, and its marker is consumed once), nor hang when a worker dies (each worker flags
 * its exit).
 */
import { receiveMessageOnPort } from 'node:worker_threads';
import { asBuffer, reviveFinding, reviveRecord } from '../fields.js';
import type { Policy } from '../policy/policy.js';
import { RuleIndex } from '../policy/rule-index.js';
import { addStats, type Handoff, type ScanStats } from '../scan/scan.js';
import { Store } from '../store/store.js';
import { closeFd } from '../sys/libc.js';
import type { FileRecord } from '../types.js';
import { decodeError } from '../worker-error.js';
import { SplitPool } from './split-pool.js';
import {
  CREDITS,
  CTL,
  ctlSlot,
  type Mode,
  type OrderedItem,
  ROOT_UNIT,
  type ToMain,
  type ToWorker,
} from './split-protocol.js';
import { UnitRunner } from './split-unit.js';

export { SPLIT_MIN_ENTRIES, SplitPool, splitWorkers } from './split-pool.js';
export type { OrderedItem } from './split-protocol.js';

export interface SplitOptions {
  mode: Mode;
  /** Threads, this one included (ignored with `pool`). */
  workers: number;
  /** Workers started ahead (SplitPool.start); closed when the scan ends. */
  pool?: SplitPool | null;
  policy: Policy;
  fast: boolean;
  database?: string;
  baselineId?: number;
  /** A check: this thread's connection to read its units' records through (else one is opened). */
  store?: Store;
  /** A baseline's records, in the order they arrive. */
  onRecords?: (records: [Buffer, FileRecord][]) => void;
  /** Each ordered item, in key order. */
  onItem: (item: OrderedItem) => void;
  onProgress?: (s: ScanStats) => void;
  /**
   * Start walking only once every worker is up (tests: a small tree is otherwise walked whole
   * before a worker could take a part of it).
   */
  awaitWorkers?: boolean;
}

export interface SplitResult {
  stats: ScanStats;
  uncovered: number;
  /** Units walked: 1 when nothing was handed over. */
  units: number;
}

interface Stream {
  worker: number;
  batches: (OrderedItem[] | undefined)[];
  at: number;
  i: number;
  ended: boolean;
}

/** Restore the Buffers of an item that crossed the thread boundary. */
function revive(it: OrderedItem): OrderedItem {
  switch (it.k) {
    case 'part':
      return {
        ...it,
        code: asBuffer(it.code),
        root: asBuffer(it.root),
        ...(it.deploy ? { deploy: asBuffer(it.deploy) } : {}),
      };
    case 'error':
      it.error.path = asBuffer(it.error.path);
      return it;
    case 'missing':
      it.path = asBuffer(it.path);
      return it;
    case 'finding':
      reviveFinding(it.finding);
      return it;
    default:
      return it;
  }
}

export function splitScan(o: SplitOptions): SplitResult {
  // Thread 0 is this one; 1 .. n-1 are worker threads.
  const sources = o.policy.sources;
  if (!sources) throw new Error('split scan: the policy has no texts to hand to its workers');
  const pool = o.pool ?? SplitPool.start(o.workers);
  if (!pool) throw new Error('split scan: fewer than two threads');
  const { n, ctl, progress, workers, ports } = pool;
  const stats: ScanStats = { entries: 0, recorded: 0, files: 0, bytes: 0n, hashedBytes: 0n, errors: 0 };
  let uncovered = 0;
  const streams = new Map<number, Stream>();
  /** The units being consumed, outermost first: the top is where key order is now. */
  const stack: number[] = [ROOT_UNIT];
  const idle: number[] = [];
  /** Units handed over while no thread was idle (should not happen: a walk hands only to one). */
  const waiting: { unit: number; handoff: Handoff }[] = [];
  /** Units this thread is to walk next. */
  const mine: { unit: number; handoff: Handoff | null }[] = [];
  let lastProgress = 0;
  let units = 0;
  let ready = 1;
  let lastSignal = -1;
  let opened: Store | null = null;
  try {
    opened = o.mode === 'check' && !o.store ? Store.open(o.database ?? '', { readonly: true }) : null;
  } catch (err) {
    pool.close();
    throw err;
  }
  const own = o.mode === 'check' ? (o.store ?? opened) : null;

  const ack = (w: number, unit: number) => {
    if (Atomics.load(ctl, ctlSlot(w, 0)) !== unit) return;
    Atomics.add(ctl, ctlSlot(w, 1), 1);
    Atomics.notify(ctl, ctlSlot(w, 1));
  };
  const assign = (w: number, unit: number, handoff: Handoff | null) => {
    streams.set(unit, { worker: w, batches: [], at: 0, i: 0, ended: false });
    if (w === 0) mine.push({ unit, handoff });
    else workers[w]?.postMessage({ t: 'run', unit, handoff } satisfies ToWorker);
  };
  const handle = (w: number, m: ToMain) => {
    switch (m.t) {
      case 'ready':
        // A worker joins the walk as soon as it is up: idle, wanting work.
        ready++;
        idle.push(w);
        Atomics.add(ctl, CTL.wanted, 1);
        return;
      case 'fail':
        throw decodeError(m.error);
      case 'split': {
        const handoff = w === 0 ? m.handoff : { ...m.handoff, path: asBuffer(m.handoff.path) };
        const to = idle.pop();
        if (to === undefined) waiting.push({ unit: m.child, handoff });
        else assign(to, m.child, handoff);
        return;
      }
      case 'batch': {
        const s = streams.get(m.unit);
        if (!s) throw new Error(`split scan: a batch of unit ${m.unit}, which was never handed out`);
        if (m.records) {
          // From a worker, Buffers arrive as plain Uint8Arrays; from this thread, as they were.
          if (w !== 0) for (const r of m.records) reviveRecord(r[1]);
          o.onRecords?.(w === 0 ? m.records : m.records.map((r) => [asBuffer(r[0]), r[1]]));
        }
        // A baseline's batches count as handled when stored (their ordered items are small); a
        // check's when consumed in key order (its findings may be many).
        if (o.mode === 'baseline') ack(w, m.unit);
        s.batches.push(w === 0 ? m.items : m.items.map(revive));
        return;
      }
      case 'end': {
        const s = streams.get(m.unit);
        if (!s) throw new Error(`split scan: the end of unit ${m.unit}, which was never handed out`);
        s.ended = true;
        units++;
        addStats(stats, m.stats);
        uncovered += m.uncovered;
        const next = waiting.shift();
        if (next) assign(w, next.unit, next.handoff);
        else {
          idle.push(w);
          Atomics.add(ctl, CTL.wanted, 1);
        }
        return;
      }
    }
  };
  /** Consume what is in key order now; true when every unit is consumed. */
  const drain = (): boolean => {
    next: while (stack.length > 0) {
      const unit = stack[stack.length - 1]!;
      const s = streams.get(unit);
      if (!s) return false;
      const items = s.batches[s.at];
      if (items) {
        while (s.i < items.length) {
          const it = items[s.i++]!;
          if (it.k === 'unit') {
            if (!streams.has(it.id))
              throw new Error(`split scan: unit ${it.id} spliced but never handed out`);
            stack.push(it.id);
            continue next;
          }
          o.onItem(it);
        }
        s.batches[s.at++] = undefined;
        s.i = 0;
        if (o.mode === 'check') ack(s.worker, unit);
        continue;
      }
      if (!s.ended) return false;
      streams.delete(unit);
      stack.pop();
    }
    return true;
  };
  /** Read every message there is, and consume what it allows; false when there was none. */
  const poll = (): boolean => {
    const signal = Atomics.load(ctl, CTL.signal);
    if (signal === lastSignal) return false;
    lastSignal = signal;
    for (let w = 1; w < n; w++) {
      const port = ports[w];
      if (!port) continue;
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port))
        handle(w, m.message as ToMain);
    }
    return true;
  };
  /** The progress of every thread, at most every 100 ms (also while this one walks alone). */
  const tick = () => {
    if (!o.onProgress) return;
    const now = Date.now();
    if (now - lastProgress < 100) return;
    lastProgress = now;
    o.onProgress(progressOf(progress, n));
  };
  const sleep = (seen: number) => {
    for (let w = 1; w < n; w++)
      if (Atomics.load(ctl, ctlSlot(w, 2)) !== 0) throw new Error(`split scan: worker ${w} stopped`);
    Atomics.wait(ctl, CTL.signal, seen, 200);
  };
  const runner = new UnitRunner({
    worker: 0,
    ctl,
    progress,
    index: new RuleIndex(o.policy.rules),
    store: own,
    baselineId: o.baselineId ?? 0,
    fast: o.fast,
    post: (m) => handle(0, m),
    // This thread's own batches wait for nobody but it: while its unit is not yet where key order
    // is, it consumes what the workers send, and sleeps only when they have sent nothing.
    credit: (posted) => {
      for (;;) {
        drain();
        if (posted - Atomics.load(ctl, ctlSlot(0, 1)) < CREDITS) return;
        const seen = Atomics.load(ctl, CTL.signal);
        if (!poll()) sleep(seen);
      }
    },
    between: () => {
      if (poll()) drain();
      tick();
    },
  });

  try {
    const setup: ToWorker = {
      t: 'setup',
      mode: o.mode,
      policy: { sources, hash: o.policy.hash.toString('hex') },
      fast: o.fast,
      ...(o.database !== undefined ? { database: o.database } : {}),
      ...(o.baselineId !== undefined ? { baselineId: o.baselineId } : {}),
    };
    for (const w of workers) w?.postMessage(setup);
    // The walk starts here while the workers start; each is idle, wanting work, once ready.
    while (o.awaitWorkers && ready < n) {
      const seen = Atomics.load(ctl, CTL.signal);
      if (!poll()) sleep(seen);
    }
    assign(0, ROOT_UNIT, null);
    for (;;) {
      const job = mine.shift();
      if (job) {
        Atomics.store(ctl, ctlSlot(0, 0), job.unit);
        Atomics.store(ctl, ctlSlot(0, 1), 0);
        runner.run(job.unit, job.handoff);
        continue;
      }
      const seen = Atomics.load(ctl, CTL.signal);
      const heard = poll();
      tick();
      if (drain()) break;
      if (!heard) sleep(seen);
    }
  } finally {
    pool.close();
    opened?.close();
    // Subtrees handed over but never started: their descriptors are this process's to close.
    for (const u of waiting) closeQuietly(u.handoff.fd);
  }
  o.onProgress?.(stats);
  return { stats, uncovered, units };
}

function closeQuietly(fd: number): void {
  try {
    closeFd(fd);
  } catch {
    // Already gone with its worker: nothing to give back.
  }
}

function progressOf(p: Float64Array, n: number): ScanStats {
  const s: ScanStats = { entries: 0, recorded: 0, files: 0, bytes: 0n, hashedBytes: 0n, errors: 0 };
  for (let w = 0; w < n; w++) {
    const o = 6 * w;
    s.entries += p[o]!;
    s.recorded += p[o + 1]!;
    s.files += p[o + 2]!;
    s.bytes += BigInt(p[o + 3]!);
    s.hashedBytes += BigInt(p[o + 4]!);
    s.errors += p[o + 5]!;
  }
  return s;
}
