/**
 * The deploy digest: one BLAKE3 hash over what a deploy decides of each baseline record (its path,
 * type, permission bits, owner, group, size, content hashes and link target) and the policy's
 * hash, and nothing a host decides by itself (inode and device numbers, link counts, times, the
 * host name, the label, the creation time). Two hosts that installed the same deploy under the
 * same policy have the same deploy digest; their baseline roots always differ (the root binds the
 * host and the time, store/root.ts). It is announced beside the root, so the log server can tell
 * which host's deploy differs from its peers' (`fim fleet status`, drift).
 *
 * Version 2 hashes each directory's run of records on its own and chains the runs in code order
 * (dir-parts.ts), as the root's format 3 does, so a scan split over threads can hash where it reads;
 * version 1 was one stream of the same framed records. A fleet that mixes fim versions sees drift
 * between them (different digests of the same deploy) until all hosts run one.
 *
 * It hashes what it is fed, in key order; it must not read the database or decide integrity.
 */
import { Blake3 } from '../hash/blake3.js';
import type { FileRecord } from '../types.js';
import { DirChain, type DirPart, DirRuns, type RecordBytes } from './dir-parts.js';

const DOMAIN = 'fim deploy digest v2';

/** A field's bytes: 00 for none, else 01, its length (u32 BE) and the bytes. */
function fieldLength(b: Buffer | null): number {
  return b === null ? 1 : 5 + b.length;
}

function putField(out: Buffer, view: DataView, at: number, b: Buffer | null): number {
  if (b === null) {
    out[at] = 0;
    return at + 1;
  }
  out[at] = 1;
  view.setUint32(at + 1, b.length);
  b.copy(out, at + 5);
  return at + 5 + b.length;
}

const TYPES = new Map<string, Buffer>();
function typeBytes(t: string): Buffer {
  let b = TYPES.get(t);
  if (b === undefined) {
    b = Buffer.from(t);
    TYPES.set(t, b);
  }
  return b;
}

/**
 * One record's fields, framed, as one run of bytes: the key, the type's name, the fixed part (mode,
 * uid, gid, size: a field of 20 bytes, 25 framed), the content hashes and the link target. Written
 * straight into the runs' batch (dir-parts.ts), one call into the native hasher per batch.
 */
export const DEPLOY_BYTES: RecordBytes = {
  size: (key, r) =>
    fieldLength(key) +
    fieldLength(typeBytes(r.type)) +
    25 +
    fieldLength(r.content) +
    fieldLength(r.sha256) +
    fieldLength(r.target),
  write: (out, view, at0, key, r) => {
    let at = putField(out, view, at0, key);
    at = putField(out, view, at, typeBytes(r.type));
    out[at] = 1;
    view.setUint32(at + 1, 20);
    view.setUint32(at + 5, r.mode);
    view.setUint32(at + 9, r.uid);
    view.setUint32(at + 13, r.gid);
    view.setBigUint64(at + 17, r.size);
    at += 25;
    at = putField(out, view, at, r.content);
    at = putField(out, view, at, r.sha256);
    return putField(out, view, at, r.target);
  },
};

/** One record's deploy bytes in a Buffer of their own (DEPLOY_BYTES). */
export function deployBytes(key: Buffer, r: FileRecord): Buffer {
  const out = Buffer.allocUnsafe(DEPLOY_BYTES.size(key, r));
  DEPLOY_BYTES.write(out, new DataView(out.buffer, out.byteOffset, out.length), 0, key, r);
  return out;
}

export class DeployDigest {
  private readonly chain = new DirChain(DOMAIN);
  private readonly runs = new DirRuns((p) => this.chain.add(p));

  add(key: Buffer, r: FileRecord): void {
    this.runs.addRecord(key, r, DEPLOY_BYTES);
  }

  /** A directory's part, hashed elsewhere from deployBytes (a scan worker), in code order. */
  addPart(p: DirPart): void {
    this.runs.flush();
    this.chain.add(p);
  }

  /** The digest, in hex, bound to the policy's hash. */
  finish(policyHash: Buffer): string {
    this.runs.flush();
    const out = Buffer.allocUnsafe(fieldLength(policyHash));
    putField(out, new DataView(out.buffer, out.byteOffset, out.length), 0, policyHash);
    const h = new Blake3();
    h.update(this.chain.digest());
    h.update(out);
    return h.digestHex();
  }
}
