/**
 * The stored fields of a FileRecord, the second half of the attribute table (src/attributes.ts
 * holds the checkable attributes): each field's database column, its key in the journal's JSON, and
 * its kind, which fixes its codecs (SQL, JSON, the root's canonical bytes, the scan worker's
 * structured clone). The store, the root, the journal and the scan worker read records only
 * through this list and the codecs below.
 */
import { ABSENT, isTagged, TAG_ABSENT, TAG_UNSUPPORTED, UNSUPPORTED } from './extended/value.js';
import { NS } from './ns-time.js';
import { keyToPath } from './path-key.js';
import { FILE_TYPES, type FileRecord, type FileType, type Finding } from './types.js';

/** The fields of a FileRecord that are stored (the path is the key; `prefix` is never stored). */
export type RecordField = Exclude<keyof FileRecord, 'path' | 'prefix'>;

/**
 * How a field is stored, which fixes its codecs: `type` a small integer code (its index in
 * FILE_TYPES), `u32` an unsigned 32-bit number, `u64` a 64-bit unsigned integer held as a bigint,
 * `time` nanoseconds since the epoch as a bigint of any size (a file system stores times from
 * before 1901 to past 2446, and tmpfs far beyond: nanoseconds then exceed 64 bits), `bytes` a byte
 * string or null.
 */
export type FieldKind = 'type' | 'u32' | 'u64' | 'time' | 'bytes';

export interface FieldSpec {
  field: RecordField;
  /** Column of the `record` table. */
  column: string;
  /** Key in the journal's JSON encoding of a record (store/record-blob.ts). */
  json: string;
  kind: FieldKind;
  /** `u32` and `u64` fields: the largest valid value, when less than the kind's own. */
  max?: bigint;
  /**
   * `bytes` fields: an exact length or a minimum, whether it is a tagged value
   * (src/extended/value.ts), and how the journal's JSON writes them.
   */
  bytes?: { length?: number; min?: number; tagged?: true; json: 'hex' | 'base64' };
  /** The first root format whose canonical bytes hold this field (absent: all of them). */
  since?: RootFormat;
}

/**
 * Root formats: 1 is v0.1's (twelve fields, times as signed 64-bit nanoseconds); 2 adds SHA-256,
 * capabilities, ACLs, the SELinux label, other xattrs and inode flags, and writes times as 64-bit
 * seconds plus 32-bit nanoseconds, so no year is out of range. A baseline keeps the format its root
 * was made in, and is verified in it. Format 3 has format 2's fields and canonical bytes, hashed
 * by directory (store/root.ts, store/dir-parts.ts): a scan split over threads hashes where it reads.
 */
export type RootFormat = 1 | 2 | 3;
export const ROOT_FORMAT: RootFormat = 3;
export const ROOT_FORMATS: readonly RootFormat[] = [1, 2, 3];

const tagged = { min: 1, tagged: true, json: 'base64' } as const;

/**
 * Every stored field, in the order of the baseline root's canonical form (canonicalRecord below).
 * That order is part of every signed root: a new field goes at the end, never in between, in a new
 * root format. The store (columns, store/record-codec.ts), the journal (JSON, store/record-blob.ts),
 * the root and the scan worker (reviveRecord) read records only through this list.
 */
export const RECORD_FIELDS: readonly FieldSpec[] = [
  { field: 'type', column: 'type', json: 't', kind: 'type' },
  // All 12 permission bits, never the file type's bits (the scan masks them off).
  { field: 'mode', column: 'mode', json: 'm', kind: 'u32', max: 0o7777n },
  { field: 'uid', column: 'uid', json: 'u', kind: 'u32' },
  { field: 'gid', column: 'gid', json: 'g', kind: 'u32' },
  { field: 'nlink', column: 'nlink', json: 'n', kind: 'u32' },
  // loff_t is signed: no size reaches 2^63. Inode and device numbers may use all 64 bits.
  { field: 'size', column: 'size', json: 's', kind: 'u64', max: (1n << 63n) - 1n },
  { field: 'mtime', column: 'mtime', json: 'mt', kind: 'time' },
  { field: 'ctime', column: 'ctime', json: 'ct', kind: 'time' },
  { field: 'inode', column: 'inode', json: 'i', kind: 'u64' },
  { field: 'dev', column: 'dev', json: 'd', kind: 'u64' },
  // readlink never returns an empty target.
  { field: 'target', column: 'target', json: 'l', kind: 'bytes', bytes: { min: 1, json: 'base64' } },
  // BLAKE3-256.
  { field: 'content', column: 'content', json: 'c', kind: 'bytes', bytes: { length: 32, json: 'hex' } },
  {
    field: 'sha256',
    column: 'sha256',
    json: 'h',
    kind: 'bytes',
    bytes: { length: 32, json: 'hex' },
    since: 2,
  },
  { field: 'caps', column: 'caps', json: 'cp', kind: 'bytes', bytes: tagged, since: 2 },
  { field: 'acl', column: 'acl', json: 'al', kind: 'bytes', bytes: tagged, since: 2 },
  { field: 'selinux', column: 'selinux', json: 'se', kind: 'bytes', bytes: tagged, since: 2 },
  { field: 'xattrs', column: 'xattrs', json: 'xa', kind: 'bytes', bytes: tagged, since: 2 },
  { field: 'flags', column: 'flags', json: 'fl', kind: 'bytes', bytes: tagged, since: 2 },
];

/** True when a stored byte string is well formed for its field (tagged values checked). */
export function bytesFieldValid(f: FieldSpec, b: Buffer): boolean {
  return !f.bytes?.tagged || isTagged(b);
}

const U32_MAX = 0xffff_ffff;
const FIELDS_OF: ReadonlyMap<RootFormat, readonly FieldSpec[]> = new Map(
  ROOT_FORMATS.map((v) => [v, RECORD_FIELDS.filter((f) => (f.since ?? 1) <= v)]),
);

/**
 * How each field of a format is written, as a small number (a switch on it is what the writer
 * runs per field): a type code, a u32, a u64, a time as 64-bit nanoseconds (format 1) or as 64-bit
 * seconds and 32-bit nanoseconds, a length-prefixed byte string.
 */
const Put = { Type: 0, U32: 1, U64: 2, Time64: 3, Time96: 4, Bytes: 5 } as const;
type Put = (typeof Put)[keyof typeof Put];
const PUT_OF: Record<FieldKind, Put> = {
  type: Put.Type,
  u32: Put.U32,
  u64: Put.U64,
  time: Put.Time96,
  bytes: Put.Bytes,
};
const PUTS: ReadonlyMap<RootFormat, readonly { field: RecordField; put: Put }[]> = new Map(
  ROOT_FORMATS.map((v) => [
    v,
    (FIELDS_OF.get(v) ?? []).map((f) => ({
      field: f.field,
      put: f.kind === 'time' && v === 1 ? Put.Time64 : PUT_OF[f.kind],
    })),
  ]),
);
const TYPE_CODE: ReadonlyMap<string, number> = new Map(FILE_TYPES.map((t, i) => [t, i]));
/** The length of `canonicalRecord(key, r, format)`, without building it. */
export function canonicalSize(key: Buffer, r: FileRecord, format: RootFormat = ROOT_FORMAT): number {
  let size = 4 + key.length;
  for (const f of PUTS.get(format) ?? []) {
    switch (f.put) {
      case Put.Type:
        size += 1;
        break;
      case Put.U32:
        size += 4;
        break;
      case Put.U64:
      case Put.Time64:
        size += 8;
        break;
      case Put.Time96:
        size += 12;
        break;
      case Put.Bytes:
        size += 4 + ((r[f.field] as Buffer | null)?.length ?? 0);
        break;
    }
  }
  return size;
}

/**
 * Writes `canonicalRecord(key, r, format)` into `out` at `at` (`view` is a DataView of the same
 * bytes, `out` must have canonicalSize bytes free there) and returns where it ends: how the root
 * and the directory digests gather many records in one buffer for one call into the hasher.
 */
export function writeCanonical(
  out: Buffer,
  view: DataView,
  at: number,
  key: Buffer,
  r: FileRecord,
  format: RootFormat = ROOT_FORMAT,
): number {
  let o = at;
  view.setUint32(o, key.length);
  o += 4 + key.copy(out, o + 4);
  for (const f of PUTS.get(format) ?? []) {
    const v = r[f.field];
    switch (f.put) {
      case Put.Type:
        out[o++] = (TYPE_CODE.get(v as FileType) ?? -1) & 0xff;
        break;
      case Put.U32:
        view.setUint32(o, (v as number) >>> 0);
        o += 4;
        break;
      case Put.U64:
        view.setBigUint64(o, v as bigint);
        o += 8;
        break;
      case Put.Time64:
        view.setBigInt64(o, v as bigint);
        o += 8;
        break;
      case Put.Time96: {
        // Whole seconds (floor) and the nanoseconds past them. Times come from a kernel timespec
        // (64-bit seconds); the store refuses anything else, and one past them is written as 0
        // seconds and 0xffffffff nanoseconds, which no real time has.
        const ns = v as bigint;
        let sec = ns / NS;
        let nsec = Number(ns - sec * NS);
        if (nsec < 0) {
          sec -= 1n;
          nsec += 1_000_000_000;
        }
        if (sec !== BigInt.asIntN(64, sec)) {
          sec = 0n;
          nsec = U32_MAX;
        }
        view.setBigInt64(o, sec);
        view.setUint32(o + 8, nsec);
        o += 12;
        break;
      }
      case Put.Bytes: {
        const b = v as Buffer | null;
        view.setUint32(o, b === null ? U32_MAX : b.length);
        o += 4;
        if (b !== null) o += b.copy(out, o);
        break;
      }
    }
  }
  return o;
}

/**
 * The root's canonical bytes of one record in a root format: the key, length-prefixed, then each
 * field of that format in RECORD_FIELDS order: fixed-width big-endian integers, times (format 1:
 * signed 64-bit nanoseconds; format 2: signed 64-bit seconds and 32-bit nanoseconds), and byte
 * strings prefixed by their length (0xffffffff for null).
 */
export function canonicalRecord(key: Buffer, r: FileRecord, format: RootFormat = ROOT_FORMAT): Buffer {
  const out = Buffer.allocUnsafe(canonicalSize(key, r, format));
  writeCanonical(out, new DataView(out.buffer, out.byteOffset, out.length), 0, key, r, format);
  return out;
}

/** A byte string of the canonical form at `at` (length-prefixed; 0xffffffff is null), as a view. */
function bytesAt(buf: Buffer, view: DataView, at: number): Buffer | null {
  const n = view.getUint32(at);
  if (n === U32_MAX) return null;
  const b = buf.subarray(at + 4, at + 4 + n);
  if (b.length !== n) throw new RangeError('a packed record past the end of its buffer');
  return b;
}

/** A tagged value: "unsupported" and "absent" as the shared constants, anything else as a view. */
function taggedAt(buf: Buffer, view: DataView, at: number): Buffer | null {
  const b = bytesAt(buf, view, at);
  if (b === null || b.length !== 1) return b;
  return b[0] === TAG_ABSENT ? ABSENT : b[0] === TAG_UNSUPPORTED ? UNSUPPORTED : b;
}

const len = (b: Buffer | null) => 4 + (b === null ? 0 : b.length);
const timeAt = (view: DataView, at: number) => view.getBigInt64(at) * NS + BigInt(view.getUint32(at + 8));

/**
 * The record whose format-2 canonical bytes start at `at` in `buf` (`view` a DataView of the same
 * bytes), and where they end: how the process that read and checked a baseline's rows hands them
 * to a check (ops/row-stream.ts). The key and byte strings are views of `buf`; a one-byte
 * "unsupported" or "absent" value is the shared constant. It trusts its input (bytes fim wrote
 * from checked rows): a short buffer throws a RangeError.
 *
 * Written out field by field in RECORD_FIELDS order (one object shape, no dispatch per field);
 * test/unit/fields.test.ts reads back every field writeCanonical writes, so a new one cannot be
 * missed here.
 */
export function readCanonical(
  buf: Buffer,
  view: DataView,
  at: number,
): { key: Buffer; record: FileRecord; end: number } {
  const key = bytesAt(buf, view, at);
  if (key === null) throw new RangeError('a packed record without a key');
  let o = at + 4 + key.length;
  if (o + 65 > buf.length) throw new RangeError('a packed record past the end of its buffer');
  const type = FILE_TYPES[view.getUint8(o)] ?? 'unknown';
  const mode = view.getUint32(o + 1);
  const uid = view.getUint32(o + 5);
  const gid = view.getUint32(o + 9);
  const nlink = view.getUint32(o + 13);
  const size = view.getBigUint64(o + 17);
  const mtime = timeAt(view, o + 25);
  const ctime = timeAt(view, o + 37);
  const inode = view.getBigUint64(o + 49);
  const dev = view.getBigUint64(o + 57);
  o += 65;
  const target = bytesAt(buf, view, o);
  o += len(target);
  const content = bytesAt(buf, view, o);
  o += len(content);
  const sha256 = bytesAt(buf, view, o);
  o += len(sha256);
  const caps = taggedAt(buf, view, o);
  o += len(caps);
  const acl = taggedAt(buf, view, o);
  o += len(acl);
  const selinux = taggedAt(buf, view, o);
  o += len(selinux);
  const xattrs = taggedAt(buf, view, o);
  o += len(xattrs);
  const flags = taggedAt(buf, view, o);
  o += len(flags);
  const record: FileRecord = {
    path: keyToPath(key),
    type,
    mode,
    uid,
    gid,
    size,
    mtime,
    ctime,
    inode,
    dev,
    nlink,
    target,
    content,
    sha256,
    caps,
    acl,
    selinux,
    xattrs,
    flags,
  };
  return { key, record, end: o };
}

// Structured clone (worker threads) turns a Buffer into a plain Uint8Array: wrap it back, no copy.
export const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

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

/** Restore the Buffers of a finding that crossed a worker boundary (its path, record, manifest). */
export function reviveFinding(f: Finding): Finding {
  f.path = asBuffer(f.path);
  reviveRecord(f.record);
  if (f.explanation) f.explanation.manifest = asBuffer(f.explanation.manifest);
  return f;
}
