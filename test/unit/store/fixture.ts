/**
 * What the store's unit tests share: a real database file in a disposable sandbox, records made by
 * hand or by fast-check, and a way to edit a row behind the store's back (as an intruder or a bad
 * disk would), with better-sqlite3 directly.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { expect } from 'vitest';
import { ExitCode, StorageError } from '../../../src/errors.js';
import { ABSENT, presentValue, UNSUPPORTED } from '../../../src/extended/value.js';
import { pathToKey } from '../../../src/path-key.js';
import type { BaselineMeta } from '../../../src/store/baselines.js';
import type { Store } from '../../../src/store/store.js';
import { FILE_TYPES, type FileRecord } from '../../../src/types.js';
import { UNREAD } from '../../helpers/records.js';

export function record(path: string | Buffer, over: Partial<FileRecord> = {}): FileRecord {
  return {
    path: Buffer.isBuffer(path) ? path : Buffer.from(path),
    type: 'file',
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    size: 12n,
    mtime: 1_764_000_000_123_456_789n,
    ctime: 1_764_000_000_987_654_321n,
    inode: 4242n,
    dev: 2049n,
    nlink: 1,
    target: null,
    content: Buffer.alloc(32, 0xab),
    ...UNREAD,
    ...over,
  };
}

export function meta(id: number, over: Partial<BaselineMeta> = {}): BaselineMeta {
  return {
    id,
    createdNs: 1_764_000_000_000_000_000n + BigInt(id),
    label: `label-${id}`,
    host: 'worker-7',
    policyHash: Buffer.alloc(32, 0x11),
    files: 0,
    bytes: 0n,
    root: Buffer.alloc(32, 0x22),
    signature: null,
    parent: id > 1 ? id - 1 : null,
    reason: 'baseline',
    format: 2,
    ...over,
  };
}

/** Write a baseline (metadata and records) the way `fim baseline` does: one transaction. */
export function writeBaseline(
  store: Store,
  records: readonly FileRecord[],
  over: Partial<BaselineMeta> = {},
): number {
  return store.transaction(() => {
    const id = store.nextBaselineId();
    const write = store.recordWriter(id);
    for (const r of records) write(pathToKey(r.path), r);
    store.insertBaselineMeta(meta(id, { files: records.length, ...over }));
    return id;
  });
}

/** Records in the order the store gives them back: by path key. */
export function inKeyOrder(records: readonly FileRecord[]): FileRecord[] {
  return [...records].sort((a, b) => Buffer.compare(pathToKey(a.path), pathToKey(b.path)));
}

/** Edit the file behind the store's back (the store must be closed, or at least not writing). */
export function tamper(file: string, sql: string, ...params: unknown[]): number {
  const db = new Database(file);
  try {
    return db.prepare(sql).run(...params).changes;
  } finally {
    db.close();
  }
}

/** Drop a NOT NULL constraint from the schema, as someone rewriting the file could. */
export function dropNotNull(file: string, table: string, columnDecl: string): void {
  const db = new Database(file);
  try {
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    const n = db
      .prepare('UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE name = ?')
      .run(`${columnDecl} NOT NULL`, columnDecl, table).changes;
    expect(n, `${table}.${columnDecl} NOT NULL`).toBe(1);
  } finally {
    db.close();
  }
}

/** Run `read` and expect the StorageError a tampered row must raise: table, column, fix, no cast. */
export function expectBadColumn(
  read: () => unknown,
  file: string,
  table: string,
  column: string,
): StorageError {
  let thrown: unknown;
  try {
    read();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `reading ${table}.${column} did not throw`).toBeInstanceOf(StorageError);
  const err = thrown as StorageError;
  expect(err.exitCode).toBe(ExitCode.storage);
  expect(err.message).toContain(file);
  expect(err.message).toContain(`table ${table}, column ${column}`);
  expect(err.message).toMatch(/restore the database from backup/);
  return err;
}

const nameArb = fc
  .uint8Array({ minLength: 1, maxLength: 8 })
  .map((b) => Buffer.from(b.filter((x) => x !== 0 && x !== 0x2f)))
  .filter((b) => b.length > 0);

/** An absolute path of 1–4 components of odd bytes (anything but NUL and "/"). */
export const pathArb = fc
  .array(nameArb, { minLength: 1, maxLength: 4 })
  .map((parts) => Buffer.concat(parts.flatMap((p) => [Buffer.from('/'), p])));

const I64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const U64 = { min: 0n, max: 2n ** 64n - 1n };
const SIZE = { min: 0n, max: 2n ** 63n - 1n };
/** Times of any year a kernel timespec holds (64-bit seconds): past 64-bit nanoseconds too. */
const timeArb = fc.oneof(
  fc.bigInt(I64),
  fc
    .tuple(fc.bigInt(I64), fc.integer({ min: 0, max: 999_999_999 }))
    .map(([s, n]) => s * 1_000_000_000n + BigInt(n)),
);
const taggedArb = fc.option(
  fc.oneof(
    fc.constant(UNSUPPORTED),
    fc.constant(ABSENT),
    fc.uint8Array({ maxLength: 40 }).map((b) => presentValue(Buffer.from(b))),
  ),
  { nil: null },
);
const U32 = { min: 0, max: 0xffffffff };

/** Any record the scanner could make: times and sizes beyond 2^53, null or present target and content. */
export const recordArb: fc.Arbitrary<FileRecord> = fc.record({
  path: pathArb,
  type: fc.constantFrom(...FILE_TYPES),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.integer(U32),
  gid: fc.integer(U32),
  size: fc.bigInt(SIZE),
  mtime: timeArb,
  ctime: timeArb,
  inode: fc.bigInt(U64),
  dev: fc.bigInt(U64),
  nlink: fc.integer(U32),
  target: fc.option(
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)),
    { nil: null },
  ),
  content: fc.option(
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)),
    { nil: null },
  ),
  sha256: fc.option(
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)),
    { nil: null },
  ),
  caps: taggedArb,
  acl: taggedArb,
  selinux: taggedArb,
  xattrs: taggedArb,
  flags: taggedArb,
});

/** Records with distinct paths (a baseline holds each path once). */
export const recordsArb = fc.uniqueArray(recordArb, {
  maxLength: 30,
  selector: (r) => r.path.toString('latin1'),
});
