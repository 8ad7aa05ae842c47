/**
 * One unit of a split scan (split-scan.ts): the tree from the root, or a subtree another thread's
 * walk handed over with its directory already open. Runs on the main thread and in each worker
 * (split-worker.ts) alike. Everything per entry happens here: stat, hash, and for a check the
 * baseline's records of the unit, read through this thread's own read-only connection, compared,
 * and hashed by directory into the root's parts. What it yields goes out through `post`: findings,
 * errors and one part per directory in key order, splice markers where handed subtrees belong,
 * and (a baseline) the records to store.
 *
 * It must not hash or compare a record of a subtree it handed over: the records of that subtree
 * are left out of its reads from the moment it is handed (Skips), and those already read ahead
 * are dropped, so every baseline record is consumed by exactly one unit.
 */
import { dirCode, joinKey } from '../path-key.js';
import type { RuleIndex } from '../policy/rule-index.js';
import { addStats, type Handoff, Scanner, type ScanSplit, type ScanStats } from '../scan/scan.js';
import { DEPLOY_BYTES } from '../store/deploy-digest.js';
import { type DirPart, DirRuns } from '../store/dir-parts.js';
import { rootRuns } from '../store/root.js';
import { type KeyedRecord, Skips, type Store, subtreeEnd } from '../store/store.js';
import type { FileRecord } from '../types.js';
import { nowNs, readFailure } from './baseline.js';
import { Comparer } from './comparer.js';
import {
  BATCH_ITEMS,
  CTL,
  MAX_WORKERS,
  type OrderedItem,
  type PartItem,
  type ToMain,
} from './split-protocol.js';

const EMPTY = Buffer.alloc(0);

export interface UnitEnv {
  /** This thread's number: 0 is the main thread. */
  worker: number;
  ctl: Int32Array;
  /** Where this thread's progress goes (six numbers at 6 * worker). */
  progress: Float64Array;
  index: RuleIndex;
  /** A check: this thread's read-only connection and the baseline compared. */
  store: Store | null;
  baselineId: number;
  fast: boolean;
  post: (m: ToMain) => void;
  /** Called before each batch: returns once this unit may have one more outstanding. */
  credit: (posted: number) => void;
  /** Called between directories, before a walk asks whether another thread wants work. */
  between?: () => void;
}

export class UnitRunner {
  private children = 1;
  /** What this thread's finished units counted (its progress is that plus the unit in hand). */
  private readonly total: ScanStats = {
    entries: 0,
    recorded: 0,
    files: 0,
    bytes: 0n,
    hashedBytes: 0n,
    errors: 0,
  };

  constructor(private readonly env: UnitEnv) {}

  /** Walk one unit; its items and its end go out through `post`. Throws what the walk throws. */
  run(unit: number, handoff: Handoff | null): void {
    const env = this.env;
    const { ctl } = env;
    let posted = 0;
    let items: OrderedItem[] = [];
    let records: [Buffer, FileRecord][] = [];
    let cmp: Comparer | null = null;
    let scanner: Scanner | null = null;
    /** The comparer's errors so far, in walk order, into the items. */
    const takeErrors = () => {
      if (cmp) for (const error of cmp.errors.splice(0)) items.push({ k: 'error', error });
    };
    const flush = () => {
      takeErrors();
      if (items.length === 0 && records.length === 0) return;
      env.credit(posted);
      env.post(records.length ? { t: 'batch', unit, items, records } : { t: 'batch', unit, items });
      posted++;
      items = [];
      records = [];
      if (scanner) this.publish(scanner.stats);
    };
    const push = (it: OrderedItem) => {
      items.push(it);
      if (items.length >= BATCH_ITEMS) flush();
    };
    // One part per directory run: the root's, and for a baseline the deploy digest's beside it
    // (both runs cut at the same keys, so their parts come in pairs).
    let rootPart: DirPart | null = null;
    const root = rootRuns((p) => {
      if (cmp) push(partItem(p, null));
      else rootPart = p;
    });
    const deploy = new DirRuns((p) => {
      if (rootPart) push(partItem(rootPart, p));
      rootPart = null;
    });
    const flushRuns = () => {
      root.flush();
      deploy.flush();
    };
    const handed = new Map<number, Buffer>();
    const skips = new Skips();
    if (env.store) {
      const code = handoff ? dirCode(handoff.path) : EMPTY;
      cmp = new Comparer({
        index: env.index,
        rows: checkedRows(env.store, env.baselineId, code, skips),
        inScope: () => true,
        emit: (finding) => {
          finding.observedNs = nowNs();
          push({ k: 'finding', finding });
        },
        onRow: (key, r) => root.add(key, r),
      });
    }
    const add = (key: Buffer, r: FileRecord) => {
      records.push([key, r]);
      root.add(key, r);
      deploy.addRecord(key, r, DEPLOY_BYTES);
      if (records.length >= BATCH_ITEMS) flush();
    };
    const split: ScanSplit = {
      wanted: () => {
        env.between?.();
        return Atomics.load(ctl, CTL.wanted) > 0;
      },
      claim: () => {
        for (;;) {
          const v = Atomics.load(ctl, CTL.wanted);
          if (v <= 0) return false;
          if (Atomics.compareExchange(ctl, CTL.wanted, v, v - 1) === v) return true;
        }
      },
      release: () => void Atomics.add(ctl, CTL.wanted, 1),
      hand: (h) => {
        const child = env.worker + MAX_WORKERS * this.children++;
        const code = dirCode(h.path);
        handed.set(child, code);
        if (cmp) {
          skips.add(code);
          cmp.drop(joinKey(code, EMPTY), subtreeEnd(code));
        }
        env.post({ t: 'split', unit, child, handoff: h });
        return child;
      },
      splice: (child) => {
        const code = handed.get(child);
        handed.delete(child);
        // Everything before the subtree is final: records not seen, and the open directory run.
        if (code && cmp) cmp.before(joinKey(code, EMPTY));
        flushRuns();
        takeErrors();
        push({ k: 'unit', id: child });
      },
    };
    scanner = new Scanner({
      index: env.index,
      fast: env.fast,
      ...(cmp ? { lookup: cmp.peek } : {}),
      split,
      onItem: (item) => {
        if (cmp) cmp.item(item);
        else if (item.kind === 'record') add(item.key, item.record);
        else {
          push({ k: 'error', error: item.error });
          // What lstat told is still worth keeping: the other attributes stay checked.
          if (item.kind === 'error' && item.record) add(item.key, item.record);
        }
      },
      onMissing: (path, rule) => push({ k: 'missing', path, rule: rule.name }),
    });
    const walk = () => {
      const stats = handoff ? scanner.runUnit(handoff) : scanner.run();
      cmp?.finish();
      flushRuns();
      flush();
      return stats;
    };
    let stats: ScanStats;
    try {
      // A check's unit reads its records in one snapshot (the root over all units decides).
      stats = env.store ? env.store.readTransaction(walk) : walk();
    } finally {
      cmp?.close();
    }
    addStats(this.total, stats);
    this.publish(null);
    env.post({ t: 'end', unit, stats, uncovered: cmp?.uncovered ?? 0 });
  }

  private publish(s: ScanStats | null): void {
    const t = this.total;
    this.env.progress.set(
      [
        t.entries + (s?.entries ?? 0),
        t.recorded + (s?.recorded ?? 0),
        t.files + (s?.files ?? 0),
        Number(t.bytes + (s?.bytes ?? 0n)),
        Number(t.hashedBytes + (s?.hashedBytes ?? 0n)),
        t.errors + (s?.errors ?? 0),
      ],
      6 * this.env.worker,
    );
  }
}

function partItem(root: DirPart, deploy: DirPart | null): PartItem {
  return {
    k: 'part',
    code: root.code,
    count: root.count,
    root: root.digest,
    ...(deploy ? { deploy: deploy.digest } : {}),
  };
}

/** A unit's baseline records; a failed read becomes the typed error a check reports (18 or 19). */
function* checkedRows(store: Store, baseline: number, code: Buffer, skips: Skips): Generator<KeyedRecord> {
  try {
    yield* store.subtreeRecords(baseline, code, skips);
  } catch (err) {
    throw readFailure(store, { id: baseline }, err);
  }
}
