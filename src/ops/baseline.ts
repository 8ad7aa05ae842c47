/**
 * Creating, verifying and amending baselines. A baseline is written in one transaction (records,
 * root, signature, metadata), so an interrupted run leaves the previous baseline whole; once the new
 * one commits, the older records are pruned in the same transaction.
 */
import type { Policy } from '../policy/policy.js';
import { RuleIndex } from '../policy/rule-index.js';
import { type ScanStats, scanTree } from '../scan/scan.js';
import { DeployDigest } from '../store/deploy-digest.js';
import { RootBuilder } from '../store/root.js';
import type { BaselineMeta, Store } from '../store/store.js';
import type { FileRecord, ScanError } from '../types.js';
import { SplitPool, splitScan } from './split-scan.js';

export {
  checkRoot,
  type RootVerifier,
  readFailure,
  rootTee,
  verifiedRecords,
  verifyBaseline,
} from './verify-baseline.js';

/** Signs a new baseline root; returns the serialised signature stored beside it. */
export type RootSigner = (root: Buffer, createdNs: bigint) => string;

export interface BaselineResult {
  meta: BaselineMeta;
  stats: ScanStats;
  errors: ScanError[];
  missing: { path: Buffer; rule: string }[];
  elapsedMs: number;
  /** The deploy digest of the records written (store/deploy-digest.ts), from the same pass. */
  deploy: string;
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export function createBaseline(opts: {
  store: Store;
  policy: Policy;
  host: string;
  label: string;
  sign?: RootSigner;
  onProgress?: (s: ScanStats) => void;
  /** How many baselines keep their records (the new one included); default 1. */
  keepBaselines?: number;
  /** Threads to split the scan over (ops/split-scan.ts), this one included; 1 or absent: no split. */
  workers?: number;
  /** Split: walk only once every worker is up (SplitOptions.awaitWorkers). */
  awaitWorkers?: boolean;
  /** Split: workers started ahead (SplitPool.start), instead of `workers`. */
  pool?: SplitPool | null;
}): BaselineResult {
  const { store, policy } = opts;
  const started = performance.now();
  const index = new RuleIndex(policy.rules);
  const errors: ScanError[] = [];
  const missing: { path: Buffer; rule: string }[] = [];
  return store.transaction(() => {
    const id = store.nextBaselineId();
    const write = store.recordWriter(id);
    const root = new RootBuilder();
    // Fed in the same pass: reading the records back for it cost a fifth of a baseline's CPU.
    const deploy = new DeployDigest();
    const parent = store.latestBaseline()?.id ?? null;
    const add = (key: Buffer, r: FileRecord) => {
      write(key, r);
      root.add(key, r);
      deploy.add(key, r);
    };
    const progress = opts.onProgress ? { onProgress: opts.onProgress } : {};
    const onMissing = (path: Buffer, rule: string) => missing.push({ path, rule });
    // Split when threads are asked for and can be had (else this thread walks, as it always did).
    const pool = policy.sources ? (opts.pool ?? SplitPool.start(opts.workers ?? 1)) : null;
    const stats = pool
      ? splitScan({
          mode: 'baseline',
          workers: pool.n,
          pool,
          policy,
          fast: false,
          // Stored as they come; the root and the deploy digest take each directory's part in
          // key order instead (format 3, store/dir-parts.ts).
          onRecords: (rs) => {
            for (const [key, r] of rs) write(key, r);
          },
          onItem: (it) => {
            if (it.k === 'part') {
              root.addPart({ code: it.code, count: it.count, digest: it.root });
              deploy.addPart({ code: it.code, count: it.count, digest: it.deploy ?? Buffer.alloc(0) });
            } else if (it.k === 'error') errors.push(it.error);
            else if (it.k === 'missing') onMissing(it.path, it.rule);
          },
          ...progress,
          ...(opts.awaitWorkers ? { awaitWorkers: true } : {}),
        }).stats
      : scanTree({
          index,
          onItem: (item) => {
            if (item.kind === 'record') add(item.key, item.record);
            else {
              errors.push(item.error);
              // What lstat told is still worth keeping: the other attributes stay checked.
              if (item.kind === 'error' && item.record) add(item.key, item.record);
            }
          },
          onMissing: (path, rule) => onMissing(path, rule.name),
          ...progress,
        });
    const createdNs = nowNs();
    const meta: BaselineMeta = {
      id,
      createdNs,
      label: opts.label,
      host: opts.host,
      policyHash: policy.hash,
      files: root.records,
      bytes: stats.bytes,
      root: Buffer.alloc(0),
      signature: null,
      parent,
      reason: 'baseline',
      format: root.format,
    };
    meta.root = root.finish({ ...meta, policyHash: policy.hash });
    meta.signature = opts.sign ? opts.sign(meta.root, createdNs) : null;
    store.insertBaselineMeta(meta);
    if (policy.sources) store.saveBaselinePolicy(id, JSON.stringify(policy.sources));
    store.pruneOldRecords(id, opts.keepBaselines ?? 1);
    store.vacuum();
    return {
      meta,
      stats,
      errors,
      missing,
      elapsedMs: performance.now() - started,
      deploy: deploy.finish(policy.hash),
    };
  });
}

/** A baseline's deploy digest (store/deploy-digest.ts), from its stored records. */
export function deployDigestOf(store: Store, meta: BaselineMeta): string {
  const d = new DeployDigest();
  for (const r of store.records(meta.id)) d.add(r.key, r.record);
  return d.finish(meta.policyHash);
}
