/**
 * The deploy digest: one BLAKE3 hash over what a deploy decides of each baseline record (its path,
 * type, permission bits, owner, group, size, content hashes and link target) and the policy's
 * hash, and nothing a host decides by itself (inode and device numbers, link counts, times, the
 * host name, the label, the creation time). Two hosts that installed the same deploy under the
 * same policy have the same deploy digest; their baseline roots always differ (the root binds the
 * host and the time, store/root.ts). It is announced beside the root, so the log server can tell
 * which host's deploy differs from its peers' (`fim fleet status`, drift).
 *
 * It hashes what it is fed, in key order; it must not read the database or decide integrity.
 */
import { Blake3 } from '../hash/blake3.js';
import type { FileRecord } from '../types.js';

const DOMAIN = 'fim deploy digest v1';

function field(b: Buffer | null): Buffer {
  if (b === null) return Buffer.from([0]);
  const len = Buffer.alloc(5);
  len[0] = 1;
  len.writeUInt32BE(b.length, 1);
  return Buffer.concat([len, b]);
}

export class DeployDigest {
  private readonly h = new Blake3();

  constructor() {
    this.h.update(Buffer.from(DOMAIN));
  }

  add(key: Buffer, r: FileRecord): void {
    const fixed = Buffer.alloc(4 + 4 + 4 + 8);
    fixed.writeUInt32BE(r.mode, 0);
    fixed.writeUInt32BE(r.uid, 4);
    fixed.writeUInt32BE(r.gid, 8);
    fixed.writeBigUInt64BE(r.size, 12);
    for (const b of [key, Buffer.from(r.type), fixed, r.content, r.sha256, r.target]) this.h.update(field(b));
  }

  /** The digest, in hex, bound to the policy's hash. */
  finish(policyHash: Buffer): string {
    this.h.update(field(policyHash));
    return this.h.digestHex();
  }
}
