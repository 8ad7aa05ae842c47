/**
 * What the process reading a check's rows (row-process.ts) writes to the check (row-stream.ts):
 * frames of a kind byte, three zero bytes and a little-endian u32 length, then that many bytes.
 * `meta` is its snapshot's newest baseline as JSON; `rows` records as canonical bytes (fields.ts
 * `writeCanonical`, format 2); `end` follows the root check that passed; `fail` an error as data
 * (worker-error.ts), as JSON.
 */
import type { BaselineMeta } from '../store/store.js';

export const FRAME = { meta: 1, rows: 2, end: 3, fail: 4 } as const;
export const HEADER_BYTES = 8;
/** Canonical bytes per `rows` frame (a record larger than this is a frame of its own). */
export const ROW_BATCH = 1 << 18;
/** No frame the reader writes comes near this: a larger length is a broken stream. */
export const MAX_FRAME = 1 << 30;

type MetaJson = Omit<BaselineMeta, 'createdNs' | 'bytes' | 'policyHash' | 'root'> & {
  createdNs: string;
  bytes: string;
  policyHash: string;
  root: string;
};

export function encodeMeta(m: BaselineMeta): MetaJson {
  return {
    ...m,
    createdNs: m.createdNs.toString(),
    bytes: m.bytes.toString(),
    policyHash: m.policyHash.toString('hex'),
    root: m.root.toString('hex'),
  };
}

export function decodeMeta(j: MetaJson): BaselineMeta {
  return {
    ...j,
    createdNs: BigInt(j.createdNs),
    bytes: BigInt(j.bytes),
    policyHash: Buffer.from(j.policyHash, 'hex'),
    root: Buffer.from(j.root, 'hex'),
  };
}

/** The same baseline, field by field (one made or accepted since differs in id and root). */
export function sameMeta(a: BaselineMeta, b: BaselineMeta): boolean {
  return (
    a.id === b.id &&
    a.createdNs === b.createdNs &&
    a.label === b.label &&
    a.host === b.host &&
    a.policyHash.equals(b.policyHash) &&
    a.files === b.files &&
    a.bytes === b.bytes &&
    a.root.equals(b.root) &&
    a.signature === b.signature &&
    a.parent === b.parent &&
    a.reason === b.reason &&
    a.format === b.format
  );
}

/** JSON of an error as data: a bigint among its fields is written as text. */
export function errorJson(e: unknown): string {
  return JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
