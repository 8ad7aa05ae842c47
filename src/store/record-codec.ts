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
import { keyToPath } from '../path-key.js';
import { FILE_TYPES, type FileRecord, type FileType } from '../types.js';
import { blobOrNull, int64, intIn, type Row, uint32, uint64, type Where } from './row-check.js';

export const RECORD_COLUMNS = [
  'type',
  'mode',
  'uid',
  'gid',
  'size',
  'mtime',
  'ctime',
  'inode',
  'dev',
  'nlink',
  'target',
  'content',
] as const;

/** The values of RECORD_COLUMNS, in that order, as bound to an INSERT. */
export type RecordColumns = [
  type: number,
  mode: number,
  uid: number,
  gid: number,
  size: bigint,
  mtime: bigint,
  ctime: bigint,
  inode: bigint,
  dev: bigint,
  nlink: number,
  target: Buffer | null,
  content: Buffer | null,
];

const TYPE_CODE = new Map<FileType, number>(FILE_TYPES.map((t, i) => [t, i]));
const UNKNOWN_TYPE = TYPE_CODE.get('unknown')!;
const LAST_TYPE = BigInt(FILE_TYPES.length - 1);
/** BLAKE3-256. */
const CONTENT_BYTES = 32;
const RECORD: Where = { file: 'the database', table: 'record' };

/** A record's attribute columns, in RECORD_COLUMNS order. */
export function recordToRow(r: FileRecord): RecordColumns {
  return [
    TYPE_CODE.get(r.type) ?? UNKNOWN_TYPE,
    r.mode,
    r.uid,
    r.gid,
    r.size,
    r.mtime,
    r.ctime,
    r.inode,
    r.dev,
    r.nlink,
    r.target,
    r.content,
  ];
}

/**
 * The record a row of the record table holds, at `key`. Throws a StorageError naming the table, the
 * column and the path when a column holds the wrong SQLite type or an impossible value.
 */
export function rowToRecord(r: Row, key: Buffer, where: Where = RECORD): FileRecord {
  return {
    path: keyToPath(key),
    type: FILE_TYPES[intIn(r.type, 0n, LAST_TYPE, where, 'type', key)]!,
    // All 12 permission bits, and never the file type's bits (the scan masks them off).
    mode: intIn(r.mode, 0n, 0o7777n, where, 'mode', key),
    uid: uint32(r.uid, where, 'uid', key),
    gid: uint32(r.gid, where, 'gid', key),
    size: uint64(r.size, where, 'size', key),
    mtime: int64(r.mtime, where, 'mtime', key),
    ctime: int64(r.ctime, where, 'ctime', key),
    inode: uint64(r.inode, where, 'inode', key),
    dev: uint64(r.dev, where, 'dev', key),
    nlink: uint32(r.nlink, where, 'nlink', key),
    // readlink never returns an empty target.
    target: blobOrNull(r.target, where, 'target', key, -1, 1),
    content: blobOrNull(r.content, where, 'content', key, CONTENT_BYTES),
  };
}
