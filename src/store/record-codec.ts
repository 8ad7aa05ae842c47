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
import { type FieldSpec, RECORD_FIELDS } from '../attributes.js';
import { keyToPath } from '../path-key.js';
import { FILE_TYPES, type FileRecord, type FileType } from '../types.js';
import { blobOrNull, int64, intIn, type Row, uint32, uint64, type Where } from './row-check.js';

/** The attribute columns, from the attribute table (src/attributes.ts RECORD_FIELDS), in its order. */
export const RECORD_COLUMNS: readonly string[] = RECORD_FIELDS.map((f) => f.column);

/** The values of RECORD_COLUMNS, in that order, as bound to an INSERT. */
export type RecordColumns = (number | bigint | Buffer | null)[];

const TYPE_CODE = new Map<FileType, number>(FILE_TYPES.map((t, i) => [t, i]));
const UNKNOWN_TYPE = TYPE_CODE.get('unknown') ?? FILE_TYPES.length - 1;
const LAST_TYPE = BigInt(FILE_TYPES.length - 1);
const RECORD: Where = { file: 'the database', table: 'record' };

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
    case 'u64':
      return (v, w, k) => uint64(v, w, c, k);
    case 'i64':
      return (v, w, k) => int64(v, w, c, k);
    case 'bytes': {
      const length = f.bytes?.length ?? -1;
      const min = f.bytes?.min ?? 0;
      return (v, w, k) => blobOrNull(v, w, c, k, length, min);
    }
  }
}

const FIELDS = RECORD_FIELDS.map((f) => f.field);
const DECODERS = RECORD_FIELDS.map(decoderFor);

/** A record's attribute columns, in RECORD_COLUMNS order. */
export function recordToRow(r: FileRecord): RecordColumns {
  return RECORD_FIELDS.map((f) =>
    f.kind === 'type'
      ? (TYPE_CODE.get(r.type) ?? UNKNOWN_TYPE)
      : (r[f.field] as number | bigint | Buffer | null),
  );
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
