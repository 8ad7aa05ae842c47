/**
 * THE attribute table (after AIDE's src/attributes.c), in two parts:
 * - RECORD_FIELDS: each stored field of a FileRecord, with its database column, its key in the
 *   journal's JSON, and its kind, which fixes its codecs (SQL, JSON, the root's canonical bytes,
 *   the scan worker's structured clone). The store, the root, the journal and the scan worker read
 *   records only through the codecs below.
 * - ATTRIBUTES: each checkable attribute, with its label, equality, presence and display. Policy
 *   presets, compare, the reports and the alerts read from it.
 * Adding an attribute is a field row (if it stores something new), an attribute row, and its
 * reader in src/scan/record.ts.
 */

import { displayBytes } from './display.js';
import { type AttributeName, FILE_TYPES, type FileRecord, type FileType } from './types.js';

export type DisplayValue = string | number | null;

export interface AttributeSpec {
  name: AttributeName;
  /** Short human label for text reports. */
  label: string;
  /** Equal in the sense that matters for integrity. Attributes missing on either side are not compared. */
  equal(a: FileRecord, b: FileRecord): boolean;
  /** Present on this record (content only exists for hashed regular files, target for symlinks). */
  present(r: FileRecord): boolean;
  display(r: FileRecord): DisplayValue;
}

/** A bigint as a JSON-safe number when it fits, else as a decimal string. */
export function bigToDisplay(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}

/** Nanoseconds since the epoch as an ISO 8601 UTC time with all nine fractional digits. */
export function nsToIso(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  let frac = ns % 1_000_000_000n;
  let s = sec;
  if (frac < 0n) {
    frac += 1_000_000_000n;
    s -= 1n;
  }
  const base = new Date(Number(s) * 1000).toISOString().slice(0, 19);
  return `${base}.${frac.toString().padStart(9, '0')}Z`;
}

export function modeToDisplay(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

const always = () => true;

export const ATTRIBUTES: readonly AttributeSpec[] = [
  {
    name: 'type',
    label: 'type',
    equal: (a, b) => a.type === b.type,
    present: always,
    display: (r) => r.type,
  },
  {
    name: 'mode',
    label: 'mode',
    equal: (a, b) => a.mode === b.mode,
    present: always,
    display: (r) => modeToDisplay(r.mode),
  },
  { name: 'uid', label: 'owner', equal: (a, b) => a.uid === b.uid, present: always, display: (r) => r.uid },
  { name: 'gid', label: 'group', equal: (a, b) => a.gid === b.gid, present: always, display: (r) => r.gid },
  {
    name: 'size',
    label: 'size',
    equal: (a, b) => a.size === b.size,
    present: always,
    display: (r) => bigToDisplay(r.size),
  },
  {
    name: 'mtime',
    label: 'mtime',
    equal: (a, b) => a.mtime === b.mtime,
    present: always,
    display: (r) => nsToIso(r.mtime),
  },
  {
    name: 'ctime',
    label: 'ctime',
    equal: (a, b) => a.ctime === b.ctime,
    present: always,
    display: (r) => nsToIso(r.ctime),
  },
  {
    name: 'inode',
    label: 'inode',
    // An inode number means nothing on another device: a file moved across file systems changed.
    equal: (a, b) => a.inode === b.inode && a.dev === b.dev,
    present: always,
    display: (r) => bigToDisplay(r.inode),
  },
  {
    name: 'nlink',
    label: 'links',
    equal: (a, b) => a.nlink === b.nlink,
    present: always,
    display: (r) => r.nlink,
  },
  {
    name: 'target',
    label: 'link target',
    equal: (a, b) => a.target !== null && b.target !== null && a.target.equals(b.target),
    present: (r) => r.target !== null,
    display: (r) => (r.target === null ? null : displayBytes(r.target)),
  },
  {
    name: 'content',
    label: 'content (BLAKE3)',
    equal: (a, b) => a.content !== null && b.content !== null && a.content.equals(b.content),
    present: (r) => r.content !== null,
    display: (r) => (r.content === null ? null : r.content.toString('hex')),
  },
];

export const ATTRIBUTE_BY_NAME: ReadonlyMap<AttributeName, AttributeSpec> = new Map(
  ATTRIBUTES.map((a) => [a.name, a]),
);

export const PRESET_NAMES = ['readonly', 'dynamic', 'growing', 'existence'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const ALL: readonly AttributeName[] = ATTRIBUTES.map((a) => a.name);
const DYNAMIC = ALL.filter((a) => !['content', 'size', 'mtime', 'ctime'].includes(a));

/**
 * Presets after Tripwire's. `growing` is `dynamic` plus a rule the compare applies itself: the size
 * may only grow and the bytes present at baseline must be unchanged.
 */
export const PRESETS: Readonly<Record<PresetName, readonly AttributeName[]>> = {
  readonly: ALL,
  dynamic: DYNAMIC,
  growing: DYNAMIC,
  existence: ['type'],
};

/** The attribute set a rule compares, and whether the growing-file rule applies. */
export interface CheckSpec {
  attributes: ReadonlySet<AttributeName>;
  growing: boolean;
}

/** All display values of a record, for `added`/`removed` findings and `policy explain`. */
export function recordDisplay(r: FileRecord): Record<string, DisplayValue> {
  const out: Record<string, DisplayValue> = {};
  for (const a of ATTRIBUTES) if (a.present(r)) out[a.name] = a.display(r);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Stored fields

/** The fields of a FileRecord that are stored (the path is the key; `prefix` is never stored). */
export type RecordField = Exclude<keyof FileRecord, 'path' | 'prefix'>;

/**
 * How a field is stored, which fixes its codecs: `type` a small integer code (its index in
 * FILE_TYPES), `u32` an unsigned 32-bit number, `u64`/`i64` a 64-bit integer held as a bigint
 * (nanosecond times exceed 2^53), `bytes` a byte string or null.
 */
export type FieldKind = 'type' | 'u32' | 'u64' | 'i64' | 'bytes';

export interface FieldSpec {
  field: RecordField;
  /** Column of the `record` table. */
  column: string;
  /** Key in the journal's JSON encoding of a record (store/record-blob.ts). */
  json: string;
  kind: FieldKind;
  /** `u32` fields: the largest valid value, when less than 2^32 − 1. */
  max?: bigint;
  /** `bytes` fields: an exact length or a minimum, and how the journal's JSON writes them. */
  bytes?: { length?: number; min?: number; json: 'hex' | 'base64' };
}

/**
 * Every stored field, in the order of the baseline root's canonical form (canonicalRecord below).
 * That order is part of every signed root: a new field goes at the end, never in between. The store
 * (columns, store/record-codec.ts), the journal (JSON, store/record-blob.ts), the root and the scan
 * worker (reviveRecord) read records only through this list.
 */
export const RECORD_FIELDS: readonly FieldSpec[] = [
  { field: 'type', column: 'type', json: 't', kind: 'type' },
  // All 12 permission bits, never the file type's bits (the scan masks them off).
  { field: 'mode', column: 'mode', json: 'm', kind: 'u32', max: 0o7777n },
  { field: 'uid', column: 'uid', json: 'u', kind: 'u32' },
  { field: 'gid', column: 'gid', json: 'g', kind: 'u32' },
  { field: 'nlink', column: 'nlink', json: 'n', kind: 'u32' },
  { field: 'size', column: 'size', json: 's', kind: 'u64' },
  { field: 'mtime', column: 'mtime', json: 'mt', kind: 'i64' },
  { field: 'ctime', column: 'ctime', json: 'ct', kind: 'i64' },
  { field: 'inode', column: 'inode', json: 'i', kind: 'u64' },
  { field: 'dev', column: 'dev', json: 'd', kind: 'u64' },
  // readlink never returns an empty target.
  { field: 'target', column: 'target', json: 'l', kind: 'bytes', bytes: { min: 1, json: 'base64' } },
  // BLAKE3-256.
  { field: 'content', column: 'content', json: 'c', kind: 'bytes', bytes: { length: 32, json: 'hex' } },
];

const U32_MAX = 0xffff_ffff;
const FIXED_BYTES: Record<Exclude<FieldKind, 'bytes'>, number> = { type: 1, u32: 4, u64: 8, i64: 8 };

/**
 * The root's canonical bytes of one record: the key, length-prefixed, then each field in
 * RECORD_FIELDS order: fixed-width big-endian integers, and byte strings prefixed by their length
 * (0xffffffff for null).
 */
export function canonicalRecord(key: Buffer, r: FileRecord): Buffer {
  let size = 4 + key.length;
  for (const f of RECORD_FIELDS) {
    if (f.kind !== 'bytes') size += FIXED_BYTES[f.kind];
    else size += 4 + ((r[f.field] as Buffer | null)?.length ?? 0);
  }
  const out = Buffer.allocUnsafe(size);
  let o = out.writeUInt32BE(key.length, 0);
  o += key.copy(out, o);
  for (const f of RECORD_FIELDS) {
    const v = r[f.field];
    switch (f.kind) {
      case 'type':
        o = out.writeUInt8(FILE_TYPES.indexOf(v as FileType) & 0xff, o);
        break;
      case 'u32':
        o = out.writeUInt32BE((v as number) >>> 0, o);
        break;
      case 'u64':
        o = out.writeBigUInt64BE(BigInt.asUintN(64, v as bigint), o);
        break;
      case 'i64':
        o = out.writeBigInt64BE(BigInt.asIntN(64, v as bigint), o);
        break;
      case 'bytes': {
        const b = v as Buffer | null;
        o = out.writeUInt32BE(b === null ? U32_MAX : b.length, o);
        if (b !== null) o += b.copy(out, o);
        break;
      }
    }
  }
  return out;
}

// Structured clone (worker threads) turns a Buffer into a plain Uint8Array: wrap it back, no copy.
const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Restore the Buffers of a record that crossed a worker boundary. */
export function reviveRecord(r: FileRecord): FileRecord {
  r.path = asBuffer(r.path);
  for (const f of RECORD_FIELDS) {
    if (f.kind !== 'bytes') continue;
    const v = r[f.field] as Uint8Array | null;
    (r as unknown as Record<string, unknown>)[f.field] = v === null ? null : asBuffer(v);
  }
  if (r.prefix) r.prefix = { length: r.prefix.length, hash: asBuffer(r.prefix.hash) };
  return r;
}
