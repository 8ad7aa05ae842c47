/**
 * The checks every table module applies to a row as it reads it. SQLite keeps whatever it is given
 * (an INTEGER column happily holds text or a blob, and anyone with the file can edit it), so a row
 * is `unknown` until these say otherwise; a value of the wrong SQLite type or an impossible one is a
 * tampered or corrupt database, reported as a StorageError naming the table, the column and the fix.
 *
 * Cheap on purpose: the record table is read 100k+ rows at a time on the hot path of `fim check`, so
 * a check is a `typeof` and a comparison, and allocates only when it fails. It must not decide
 * integrity (whether a well-formed baseline is the one that was signed): that is the root's job.
 */
import { displayBytes } from '../display.js';
import { CorruptRowError } from '../errors.js';
import { keyToPath } from '../path-key.js';

/** A row as better-sqlite3 returns it: column names to values of a type still to be checked. */
export type Row = Record<string, unknown>;

const U32_MAX = 0xffffffffn;
const I64_MAX = 0x7fffffffffffffffn;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** Where a value was read, for the message. One per table reader, made once: never per row. */
export interface Where {
  readonly file: string;
  readonly table: string;
}

/**
 * Which row, when the reader knows: a path key (shown as the path), a row id, or a description. A
 * plain value rather than an object, so that naming the row costs nothing until a check fails.
 */
export type RowRef = Buffer | bigint | string | undefined;

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'bigint') return `the integer ${v}`;
  if (typeof v === 'number') return `the real ${v}`;
  if (typeof v === 'string') return `the text ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (v instanceof Uint8Array) return `a blob of ${v.length} bytes`;
  return typeof v;
}

/** The fix depends on what was lost: a baseline can be rebuilt from the files, a history cannot. */
function fixFor(table: string): string {
  return table === 'record' || table === 'dir' || table === 'baseline'
    ? 'restore the database from backup or run "fim baseline"'
    : 'restore the database from backup, or move it aside and run "fim baseline" (its history is lost)';
}

function rowLabel(row: RowRef): string {
  if (row === undefined) return '';
  if (typeof row === 'bigint') return ` (id ${row})`;
  if (typeof row === 'string') return ` (${row})`;
  return ` (path ${displayBytes(keyToPath(row))})`;
}

/** The error for a column that does not hold what it must: the failure path only. */
export function badColumn(
  where: Where,
  column: string,
  value: unknown,
  expected: string,
  row?: RowRef,
): CorruptRowError {
  const at = rowLabel(row);
  return new CorruptRowError(
    `database ${where.file}: table ${where.table}, column ${column}${at} holds ${describe(value)}, ` +
      `not ${expected}; it was edited or is corrupt: ${fixFor(where.table)}`,
    where.table,
    column,
  );
}

/** Any 64-bit integer (times may be negative: before 1970). */
export function int64(v: unknown, where: Where, column: string, row?: RowRef): bigint {
  if (typeof v === 'bigint') return v;
  throw badColumn(where, column, v, 'an integer', row);
}

/**
 * A time in nanoseconds (fields.ts, kind `time`): an integer where it fits in 64 bits, else 12
 * bytes (big-endian 64-bit seconds, then 32-bit nanoseconds) for a time too far from 1970 for
 * 64-bit nanoseconds (before 1677 or after 2262). One form per value: a blob for a time that fits
 * is refused, so no time has two stored spellings.
 */
export function time(v: unknown, where: Where, column: string, row?: RowRef): bigint {
  if (typeof v === 'bigint') return v;
  if (Buffer.isBuffer(v) && v.length === TIME_BLOB_BYTES) {
    const nsec = v.readUInt32BE(8);
    const ns = v.readBigInt64BE(0) * 1_000_000_000n + BigInt(nsec);
    if (nsec < 1_000_000_000 && (ns < -I64_MAX - 1n || ns > I64_MAX)) return ns;
  }
  throw badColumn(where, column, v, 'a time (an integer, or 12 bytes for one past 64-bit nanoseconds)', row);
}

/** The stored form of a time (see `time`): split only when it does not fit in 64 bits. */
export function timeToColumn(ns: bigint): bigint | Buffer {
  if (ns >= -I64_MAX - 1n && ns <= I64_MAX) return ns;
  const [sec, nsec] = [ns / 1_000_000_000n, ns % 1_000_000_000n];
  const b = Buffer.alloc(TIME_BLOB_BYTES);
  // Floor division: a negative time's nanoseconds are counted forward from the second before it.
  if (nsec < 0n) {
    b.writeBigInt64BE(sec - 1n, 0);
    b.writeUInt32BE(Number(nsec + 1_000_000_000n), 8);
  } else {
    b.writeBigInt64BE(sec, 0);
    b.writeUInt32BE(Number(nsec), 8);
  }
  return b;
}

/**
 * A 64-bit unsigned number (size, inode, device) stored in SQLite's signed integer: the bits as
 * they are, so one past 2^63 (some file systems' inode and device numbers) is a negative integer.
 */
export function u64Bits(v: unknown, where: Where, column: string, row?: RowRef): bigint {
  if (typeof v === 'bigint' && v >= -I64_MAX - 1n && v <= I64_MAX) return BigInt.asUintN(64, v);
  throw badColumn(where, column, v, 'a 64-bit integer', row);
}

/** A size, count, inode or device number: 0 up to SQLite's largest integer. */
export function uint64(v: unknown, where: Where, column: string, row?: RowRef): bigint {
  if (typeof v === 'bigint' && v >= 0n && v <= I64_MAX) return v;
  throw badColumn(where, column, v, 'an integer ≥ 0', row);
}

/** A uid, gid or link count: 0 up to 2^32 − 1. */
export function uint32(v: unknown, where: Where, column: string, row?: RowRef): number {
  if (typeof v === 'bigint' && v >= 0n && v <= U32_MAX) return Number(v);
  throw badColumn(where, column, v, 'an integer from 0 to 4294967295', row);
}

/** A count or code that fits a JS number exactly. */
export function count(v: unknown, where: Where, column: string, row?: RowRef): number {
  if (typeof v === 'bigint' && v >= 0n && v <= SAFE_MAX) return Number(v);
  throw badColumn(where, column, v, 'an integer ≥ 0', row);
}

/** A row id (SQLite's rowids start at 1). */
export function id(v: unknown, where: Where, column: string, row?: RowRef): number {
  if (typeof v === 'bigint' && v >= 1n && v <= SAFE_MAX) return Number(v);
  throw badColumn(where, column, v, 'an id (an integer ≥ 1)', row);
}

export function idOrNull(v: unknown, where: Where, column: string, row?: RowRef): number | null {
  return v === null ? null : id(v, where, column, row);
}

/** An integer in [min, max] (bigint literals: no conversion per row), as a number. */
export function intIn(
  v: unknown,
  min: bigint,
  max: bigint,
  where: Where,
  column: string,
  row?: RowRef,
): number {
  if (typeof v === 'bigint' && v >= min && v <= max) return Number(v);
  throw badColumn(where, column, v, `an integer from ${min} to ${max}`, row);
}

export function text(v: unknown, where: Where, column: string, row?: RowRef): string {
  if (typeof v === 'string') return v;
  throw badColumn(where, column, v, 'text', row);
}

export function textOrNull(v: unknown, where: Where, column: string, row?: RowRef): string | null {
  return v === null ? null : text(v, where, column, row);
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(
  v: unknown,
  allowed: readonly T[],
  where: Where,
  column: string,
  row?: RowRef,
): T {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw badColumn(where, column, v, `one of ${allowed.join(', ')}`, row);
}

/**
 * A blob (better-sqlite3 returns a fresh Buffer per value, so it is not copied), of exactly
 * `length` bytes when `length` is given, or at least `min` bytes.
 */
export function blob(v: unknown, where: Where, column: string, row?: RowRef, length = -1, min = 0): Buffer {
  if (Buffer.isBuffer(v) && (length < 0 ? v.length >= min : v.length === length)) return v;
  const expected =
    length >= 0 ? `a blob of ${length} bytes` : min > 0 ? `a blob of at least ${min} byte` : 'a blob';
  throw badColumn(where, column, v, expected, row);
}

const TIME_BLOB_BYTES = 12;

export function blobOrNull(
  v: unknown,
  where: Where,
  column: string,
  row?: RowRef,
  length = -1,
  min = 0,
): Buffer | null {
  return v === null ? null : blob(v, where, column, row, length, min);
}
