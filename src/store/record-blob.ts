/**
 * The journal's form of a record: a compact JSON blob in `finding.record`, kept so `accept` can take
 * a reviewed change into the baseline without scanning again. Decoding checks every field, as the
 * row checks do for columns: a tampered blob is a StorageError naming the table, the column and
 * the field, never a record made of `NaN` and empty buffers.
 *
 * It must not be used for baselines (their records are columns, record-codec.ts) and must not
 * change shape without a schema migration: old journals have to stay readable.
 */
import { bytesFieldValid, type FieldSpec, RECORD_FIELDS } from '../fields.js';
import { splitTime } from '../ns-time.js';
import { FILE_TYPES, type FileRecord } from '../types.js';
import { badColumn, type RowRef, type Where } from './row-check.js';

const FINDING: Where = { file: 'the database', table: 'finding' };
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const HEX = /^(?:[0-9a-f]{2})*$/;
const DECIMAL = /^-?[0-9]+$/;
const U32_MAX = 0xffffffffn;
const U64_MAX = (1n << 64n) - 1n;

/** Records cross the journal as a compact JSON blob (for `accept`): one key per field of the table. */
export function encodeRecord(r: FileRecord): Buffer {
  const o: Record<string, string | number | null> = { p: r.path.toString('base64') };
  for (const f of RECORD_FIELDS) {
    const v = r[f.field];
    if (f.kind === 'bytes') o[f.json] = v === null ? null : (v as Buffer).toString(f.bytes?.json ?? 'base64');
    else if (f.kind === 'u64' || f.kind === 'time') o[f.json] = (v as bigint).toString();
    else o[f.json] = v as string | number;
  }
  return Buffer.from(JSON.stringify(o));
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
  const j = o as Record<string, unknown>;
  const path = j.p;
  if (typeof path !== 'string' || !BASE64.test(path) || Buffer.from(path, 'base64')[0] !== 0x2f)
    throw bad('p', path, 'an absolute path in base64');
  const rec: Record<string, unknown> = { path: Buffer.from(path, 'base64') };
  for (const f of RECORD_FIELDS) rec[f.field] = decodeField(f, j[f.json], bad);
  // Every stored field was set above by its kind's checking decoder.
  return rec as unknown as FileRecord;
}

function decodeField(
  f: FieldSpec,
  v: unknown,
  bad: (field: string, value: unknown, expected: string) => Error,
): FileRecord[FieldSpec['field']] {
  switch (f.kind) {
    case 'type':
      if (typeof v === 'string' && (FILE_TYPES as readonly string[]).includes(v))
        return v as FileRecord['type'];
      throw bad(f.json, v, `one of ${FILE_TYPES.join(', ')}`);
    case 'u32': {
      const max = f.max ?? U32_MAX;
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && BigInt(v) <= max) return v;
      throw bad(f.json, v, `an integer from 0 to ${max}`);
    }
    case 'u64': {
      const max = f.max ?? U64_MAX;
      if (
        typeof v === 'string' &&
        DECIMAL.test(v) &&
        !v.startsWith('-') &&
        v.length <= 20 &&
        BigInt(v) <= max
      )
        return BigInt(v);
      throw bad(f.json, v, `a decimal integer from 0 to ${max}`);
    }
    case 'time':
      // Any time a kernel timespec can hold: 64-bit seconds.
      if (typeof v === 'string' && DECIMAL.test(v) && v.length <= 40 && splitTime(BigInt(v)) !== undefined)
        return BigInt(v);
      throw bad(f.json, v, 'a time in decimal nanoseconds');
    case 'bytes': {
      if (v === null) return null;
      const enc = f.bytes?.json ?? 'base64';
      if (typeof v === 'string' && (enc === 'hex' ? HEX : BASE64).test(v)) {
        const buf = Buffer.from(v, enc);
        const length = f.bytes?.length;
        if (
          (length === undefined ? buf.length >= (f.bytes?.min ?? 0) : buf.length === length) &&
          bytesFieldValid(f, buf)
        )
          return buf;
      }
      const size =
        f.bytes?.length !== undefined ? `${f.bytes.length} bytes` : `at least ${f.bytes?.min ?? 0} byte`;
      throw bad(f.json, v, `null or ${size} in ${enc}`);
    }
  }
}
