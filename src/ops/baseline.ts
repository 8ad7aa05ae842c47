/**
 * Creating, verifying and amending baselines. A baseline is written in one transaction (records,
 * root, signature, metadata), so an interrupted run leaves the previous baseline whole; once the new
 * one commits, the older records are pruned in the same transaction.
 */
import { BaselineIntegrityError, CorruptRowError, errnoCode, FimError, StorageError } from '../errors.js';
import type { Policy } from '../policy/policy.js';
import { RuleIndex } from '../policy/rule-index.js';
import { type ScanStats, scanTree } from '../scan/scan.js';
import { DeployDigest } from '../store/deploy-digest.js';
import { RootBuilder } from '../store/root.js';
import type { BaselineMeta, Store } from '../store/store.js';
import type { FileRecord, ScanError } from '../types.js';
import { SplitPool, splitScan } from './split-scan.js';

/** Signs a new baseline root; returns the serialised signature stored beside it. */
export type RootSigner = (root: Buffer, createdNs: bigint) => string;
/** Checks a stored signature; throws BaselineIntegrityError when it does not hold. */
export type RootVerifier = (meta: BaselineMeta) => void;

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

/** Recompute a baseline's root from its records and check its signature: all or nothing. */
export function verifyBaseline(store: Store, meta: BaselineMeta, verifySignature?: RootVerifier): void {
  verifySignature?.(meta);
  const root = new RootBuilder(meta.format);
  for (const _ of rootTee(store, meta, store.records(meta.id), root));
  checkRoot(store, meta, root);
}

/**
 * Passes a baseline's records through while adding each to `root`, so a full check verifies the
 * baseline in the same read that compares it (`checkRoot` at the end decides).
 */
export function* rootTee(
  store: Store,
  meta: BaselineMeta,
  records: Iterable<{ key: Buffer; record: FileRecord }>,
  root: RootBuilder,
): Generator<{ key: Buffer; record: FileRecord }> {
  try {
    for (const r of records) {
      root.add(r.key, r.record);
      yield r;
    }
  } catch (err) {
    throw readFailure(store, meta, err);
  }
}

/**
 * What a failed read of a baseline's records is: an edited or corrupt record is the baseline
 * failing its integrity check (18); a database that is locked, unreadable or full is a storage
 * failure (19) and must not be reported as tampering.
 */
export function readFailure(store: { file: string }, meta: { id: number }, err: unknown): Error {
  if (err instanceof BaselineIntegrityError) return err;
  if (err instanceof FimError && !(err instanceof CorruptRowError)) return err;
  if (
    !(err instanceof FimError) &&
    /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|NOMEM)/.test(errnoCode(err) ?? '')
  )
    return new StorageError(
      `reading baseline ${meta.id} from ${store.file} failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  return new BaselineIntegrityError(
    `baseline ${meta.id} in ${store.file} cannot be read back: ${(err as Error).message}`,
  );
}

export function checkRoot(store: Store, meta: BaselineMeta, root: RootBuilder): void {
  const actual = root.finish(meta);
  if (root.records !== meta.files || !actual.equals(meta.root)) {
    throw new BaselineIntegrityError(
      `baseline ${meta.id} in ${store.file} fails its integrity check: its records do not match the stored root ` +
        `(${root.records} records, ${meta.files} expected). It was edited or corrupted; do not trust it. ` +
        'Investigate, then rebuild from a known-good state with "fim baseline".',
    );
  }
}

/** A baseline's deploy digest (store/deploy-digest.ts), from its stored records. */
export function deployDigestOf(store: Store, meta: BaselineMeta): string {
  const d = new DeployDigest();
  for (const r of store.records(meta.id)) d.add(r.key, r.record);
  return d.finish(meta.policyHash);
}
