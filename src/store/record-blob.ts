/**
 * The journal's form of a record: a compact JSON blob in `finding.record`, kept so `accept` can take
 * a reviewed change into the baseline without scanning again. Decoding checks every field, as the
 * row checks do for columns: a tampered blob is a StorageError naming the table, the column and
 * the field, never a record made of `NaN` and empty buffers.
 *
 * It must not be used for baselines (their records are columns, record-codec.ts) and must not
 * change shape without a schema migration: old journals have to stay readable.
 */
import { FILE_TYPES, type FileRecord, type FileType } from '../types.js';
import { badColumn, type RowRef, type Where } from './row-check.js';

const FINDING: Where = { file: 'the database', table: 'finding' };
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DECIMAL = /^-?[0-9]+$/;
const HASH_HEX = /^[0-9a-f]{64}$/;
const U32_MAX = 0xffffffff;

/** Records cross the journal as a compact JSON blob (for `accept`). */
export function encodeRecord(r: FileRecord): Buffer {
  return Buffer.from(
    JSON.stringify({
      p: r.path.toString('base64'),
      t: r.type,
      m: r.mode,
      u: r.uid,
      g: r.gid,
      s: r.size.toString(),
      mt: r.mtime.toString(),
      ct: r.ctime.toString(),
      i: r.inode.toString(),
      d: r.dev.toString(),
      n: r.nlink,
      l: r.target?.toString('base64') ?? null,
      c: r.content?.toString('hex') ?? null,
    }),
  );
}

/** The record in a journal blob; throws a StorageError when the blob is not one `encodeRecord` made. */
export function decodeRecord(b: Buffer, where: Where = FINDING, row?: RowRef): FileRecord {
  const bad = (field: string, value: unknown, expected: string) =>
    badColumn(where, 'record', value, `a journal record whose "${field}" is ${expected}`, row);
  let o: unknown;
  try {
    o = JSON.parse(b.toString());
  } catch {
    throw badColumn(where, 'record', b, 'a journal record (JSON)', row);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad('{}', o, 'an object');
  const f = o as Record<string, unknown>;
  const base64 = (k: string): Buffer => {
    const v = f[k];
    if (typeof v === 'string' && BASE64.test(v)) return Buffer.from(v, 'base64');
    throw bad(k, v, 'base64');
  };
  const int = (k: string, max: number): number => {
    const v = f[k];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max) return v;
    throw bad(k, v, `an integer from 0 to ${max}`);
  };
  const big = (k: string, signed: boolean): bigint => {
    const v = f[k];
    if (typeof v === 'string' && DECIMAL.test(v) && (signed || !v.startsWith('-'))) return BigInt(v);
    throw bad(k, v, signed ? 'a decimal integer' : 'a decimal integer ≥ 0');
  };
  const type = f.t;
  if (typeof type !== 'string' || !(FILE_TYPES as readonly string[]).includes(type)) {
    throw bad('t', type, `one of ${FILE_TYPES.join(', ')}`);
  }
  const target = f.l === null ? null : base64('l');
  if (target?.length === 0) throw bad('l', f.l, 'null or a non-empty target');
  const content = f.c;
  if (content !== null && !(typeof content === 'string' && HASH_HEX.test(content))) {
    throw bad('c', content, 'null or 64 hex digits');
  }
  const path = base64('p');
  if (path[0] !== 0x2f) throw bad('p', f.p, 'an absolute path');
  return {
    path,
    type: type as FileType,
    mode: int('m', 0o7777),
    uid: int('u', U32_MAX),
    gid: int('g', U32_MAX),
    size: big('s', false),
    mtime: big('mt', true),
    ctime: big('ct', true),
    inode: big('i', false),
    dev: big('d', false),
    nlink: int('n', U32_MAX),
    target,
    content: content === null ? null : Buffer.from(content, 'hex'),
  };
}
