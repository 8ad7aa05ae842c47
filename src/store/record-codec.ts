/**
 * The record codec: a FileRecord to the record table's attribute columns and back, one function
 * each way, checking every column as it decodes (see row-check.ts). `RECORD_COLUMNS` is the one
 * list of those columns, in the order `recordToRow` gives their values, so the SQL that reads and
 * writes them is built from it and cannot drift.
 *
 * It must not know where a record lives: the key columns (`baseline`, `dir`, `name`) belong to
 * records.ts, which passes the key in. Nor does it judge whether a well-formed record is the one
 * that was signed: that is the baseline root's job (root.ts).
 */
import { ABSENT, TAG_ABSENT, TAG_PRESENT, TAG_UNSUPPORTED, UNSUPPORTED } from '../extended/value.js';
import { bytesFieldValid, type FieldSpec, RECORD_FIELDS } from '../fields.js';
import { keyToPath } from '../path-key.js';
import { FILE_TYPES, type FileRecord, type FileType } from '../types.js';
import {
  badColumn,
  blobOrNull,
  intIn,
  type Row,
  time,
  timeToColumn,
  u64Bits,
  uint32,
  type Where,
} from './row-check.js';

/** The attribute columns, from the attribute table (src/attributes.ts RECORD_FIELDS), in its order. */
export const RECORD_COLUMNS: readonly string[] = RECORD_FIELDS.map((f) => f.column);

/** The values of RECORD_COLUMNS, in that order, as bound to an INSERT. */
export type RecordColumns = (number | bigint | Buffer | null)[];

const TYPE_CODE = new Map<FileType, number>(FILE_TYPES.map((t, i) => [t, i]));
const UNKNOWN_TYPE = TYPE_CODE.get('unknown') ?? FILE_TYPES.length - 1;
const LAST_TYPE = BigInt(FILE_TYPES.length - 1);
const RECORD: Where = { file: 'the database', table: 'record' };

function uint64Max(v: unknown, max: bigint, w: Where, c: string, k: Buffer): bigint {
  if (typeof v === 'bigint' && v >= 0n && v <= max) return v;
  throw badColumn(w, c, v, `an integer from 0 to ${max}`, k);
}

type Decoder = (v: unknown, where: Where, key: Buffer) => FileRecord[FieldSpec['field']];

/** One checking decoder per field, chosen once by its kind: no per-row dispatch on the table. */
function decoderFor(f: FieldSpec): Decoder {
  const c = f.column;
  switch (f.kind) {
    case 'type':
      return (v, w, k) => FILE_TYPES[intIn(v, 0n, LAST_TYPE, w, c, k)] ?? 'unknown';
    case 'u32': {
      const max = f.max;
      return max === undefined ? (v, w, k) => uint32(v, w, c, k) : (v, w, k) => intIn(v, 0n, max, w, c, k);
    }
    case 'u64': {
      const max = f.max;
      return max === undefined ? (v, w, k) => u64Bits(v, w, c, k) : (v, w, k) => uint64Max(v, max, w, c, k);
    }
    case 'time':
      return (v, w, k) => time(v, w, c, k);
    case 'bytes': {
      const length = f.bytes?.length ?? -1;
      const min = f.bytes?.min ?? 0;
      if (!f.bytes?.tagged) return (v, w, k) => blobOrNull(v, w, c, k, length, min);
      return (v, w, k) => {
        // "Unsupported" and "absent" are stored as the integers 0 and 1 (see recordToRow).
        if (v === 0n) return UNSUPPORTED;
        if (v === 1n) return ABSENT;
        const b = blobOrNull(v, w, c, k, length, min);
        if (b !== null && (b[0] !== TAG_PRESENT || !bytesFieldValid(f, b)))
          throw badColumn(w, c, v, 'a tagged value (0 unsupported, 1 absent, or a present blob)', k);
        return b;
      };
    }
  }
}

const FIELDS = RECORD_FIELDS.map((f) => f.field);
const DECODERS = RECORD_FIELDS.map(decoderFor);

type Encoder = (r: FileRecord) => number | bigint | Buffer | null;

/** One encoder per field, chosen once by its kind (as the decoders are): no per-row switch. */
function encoderFor(f: FieldSpec): Encoder {
  const field = f.field;
  switch (f.kind) {
    case 'type':
      return (r) => TYPE_CODE.get(r.type) ?? UNKNOWN_TYPE;
    case 'u64':
      return (r) => BigInt.asIntN(64, r[field] as bigint);
    case 'time':
      return (r) => timeToColumn(r[field] as bigint);
    case 'bytes':
      if (!f.bytes?.tagged) return (r) => r[field] as Buffer | null;
      // Most inodes have no capability, ACL, label or xattr: an integer is read back without
      // allocating a Buffer (400,000 rows of five blobs each grew a check's memory by 35 MB).
      return (r) => {
        const v = r[field] as Buffer | null;
        if (v !== null && v.length === 1) {
          if (v[0] === TAG_UNSUPPORTED) return 0n;
          if (v[0] === TAG_ABSENT) return 1n;
        }
        return v;
      };
    default:
      return (r) => r[field] as number | Buffer | null;
  }
}

const ENCODERS = RECORD_FIELDS.map(encoderFor);

/** A record's attribute columns, in RECORD_COLUMNS order. */
export function recordToRow(r: FileRecord): RecordColumns {
  const out: RecordColumns = new Array(ENCODERS.length);
  for (let i = 0; i < ENCODERS.length; i++) out[i] = (ENCODERS[i] as Encoder)(r);
  return out;
}

/**
 * The record a row of the record table holds, at `key`. Throws a StorageError naming the table, the
 * column and the path when a column holds the wrong SQLite type or an impossible value.
 */
export function rowToRecord(r: Row, key: Buffer, where: Where = RECORD): FileRecord {
  const rec: Record<string, unknown> = { path: keyToPath(key) };
  for (let i = 0; i < FIELDS.length; i++) {
    const field = FIELDS[i] as FieldSpec['field'];
    rec[field] = (DECODERS[i] as Decoder)(r[RECORD_COLUMNS[i] as string], where, key);
  }
  // Every stored field was set above by its kind's checking decoder.
  return rec as unknown as FileRecord;
}

/** A field's place in RECORD_COLUMNS and its checking decoder, typed as the field. */
function column<F extends FieldSpec['field']>(
  field: F,
): { i: number; d: (v: unknown, w: Where, k: Buffer) => FileRecord[F] } {
  const i = FIELDS.indexOf(field);
  if (i < 0) throw new Error(`record-codec: no column for ${field}`);
  return { i, d: DECODERS[i] as (v: unknown, w: Where, k: Buffer) => FileRecord[F] };
}
const C = {
  type: column('type'),
  mode: column('mode'),
  uid: column('uid'),
  gid: column('gid'),
  size: column('size'),
  mtime: column('mtime'),
  ctime: column('ctime'),
  inode: column('inode'),
  dev: column('dev'),
  nlink: column('nlink'),
  target: column('target'),
  content: column('content'),
  sha256: column('sha256'),
  caps: column('caps'),
  acl: column('acl'),
  selinux: column('selinux'),
  xattrs: column('xattrs'),
  flags: column('flags'),
};
if (Object.keys(C).length !== FIELDS.length) throw new Error('record-codec: a column is not decoded');

/**
 * `rowToRecord` of a row read as an array: RECORD_COLUMNS' values start at `offset`. One object
 * literal, its fields in the scanner's order (scan/record.ts recordFromStat): a record read back
 * and a record scanned have one hidden class, and no field is stored by a computed name (a loop of
 * `rec[field] =` was a megamorphic store per column, 3% of a --fast check in a profile).
 */
export function valuesToRecord(
  values: readonly unknown[],
  offset: number,
  key: Buffer,
  where: Where = RECORD,
): FileRecord {
  if (values.length !== offset + FIELDS.length)
    throw badColumn(where, 'row', values.length, `${offset + FIELDS.length} columns`, key);
  const o = offset;
  // Decoded in the columns' order, so a row with two bad columns names the first one, as
  // rowToRecord does: nlink comes before size there.
  const type = C.type.d(values[o + C.type.i], where, key);
  const mode = C.mode.d(values[o + C.mode.i], where, key);
  const uid = C.uid.d(values[o + C.uid.i], where, key);
  const gid = C.gid.d(values[o + C.gid.i], where, key);
  const nlink = C.nlink.d(values[o + C.nlink.i], where, key);
  return {
    path: keyToPath(key),
    type,
    mode,
    uid,
    gid,
    size: C.size.d(values[o + C.size.i], where, key),
    mtime: C.mtime.d(values[o + C.mtime.i], where, key),
    ctime: C.ctime.d(values[o + C.ctime.i], where, key),
    inode: C.inode.d(values[o + C.inode.i], where, key),
    dev: C.dev.d(values[o + C.dev.i], where, key),
    nlink,
    target: C.target.d(values[o + C.target.i], where, key),
    content: C.content.d(values[o + C.content.i], where, key),
    sha256: C.sha256.d(values[o + C.sha256.i], where, key),
    caps: C.caps.d(values[o + C.caps.i], where, key),
    acl: C.acl.d(values[o + C.acl.i], where, key),
    selinux: C.selinux.d(values[o + C.selinux.i], where, key),
    xattrs: C.xattrs.d(values[o + C.xattrs.i], where, key),
    flags: C.flags.d(values[o + C.flags.i], where, key),
  };
}
