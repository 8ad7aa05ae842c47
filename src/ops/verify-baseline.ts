/**
 * Verifying a baseline: its records, in key order, hashed into its root and checked against the
 * stored one (and its signature). Apart from the rest of ops/baseline.ts so that the process that
 * reads a check's rows (row-process.ts) loads this and the store, not the scanner.
 */
import { BaselineIntegrityError, CorruptRowError, errnoCode, FimError, StorageError } from '../errors.js';
import { RootBuilder } from '../store/root.js';
import type { BaselineMeta, Store } from '../store/store.js';
import type { FileRecord } from '../types.js';

/** Checks a stored signature; throws BaselineIntegrityError when it does not hold. */
export type RootVerifier = (meta: BaselineMeta) => void;

/** Recompute a baseline's root from its records and check its signature: all or nothing. */
export function verifyBaseline(store: Store, meta: BaselineMeta, verifySignature?: RootVerifier): void {
  verifySignature?.(meta);
  for (const _ of verifiedRecords(store, meta));
}

/**
 * A baseline's records (by default all of them, from the store) passed through and hashed into its
 * root; the root check runs when they end, so whoever reads them to the end has read a verified
 * baseline, and a failing one throws instead of ending.
 */
export function* verifiedRecords(
  store: Store,
  meta: BaselineMeta,
  records: Iterable<{ key: Buffer; record: FileRecord }> = store.records(meta.id),
): Generator<{ key: Buffer; record: FileRecord }> {
  const root = new RootBuilder(meta.format);
  yield* rootTee(store, meta, records, root);
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
