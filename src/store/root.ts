/**
 * The baseline root: one BLAKE3 hash over every record in key order, bound to the host, label,
 * creation time and policy hash. Any edit of any stored record, of its order, or of the metadata
 * changes it; the root is what gets signed and announced to the log server.
 *
 * It decides integrity (a well-formed baseline that is not the one signed), not shape: it must not
 * read the database itself (callers feed it records in key order) nor re-check columns, which
 * row-check.ts has done by the time a record gets here.
 */

import { canonicalRecord } from '../attributes.js';
import { Blake3 } from '../hash/blake3.js';
import type { FileRecord } from '../types.js';

const DOMAIN = 'fim baseline root v1';

export interface RootMeta {
  host: string;
  label: string;
  createdNs: bigint;
  policyHash: Buffer;
  files: number;
}

/** Feeds records in key order; `finish` binds the metadata and returns the root. */
export class RootBuilder {
  private readonly h = new Blake3();
  private count = 0;
  private lastKey: Buffer | null = null;

  add(key: Buffer, r: FileRecord): void {
    if (this.lastKey && Buffer.compare(this.lastKey, key) >= 0) throw new Error('records out of key order');
    this.lastKey = key;
    this.count++;
    this.h.update(canonicalRecord(key, r));
  }

  get records(): number {
    return this.count;
  }

  finish(m: RootMeta): Buffer {
    const recordsDigest = this.h.digest();
    const meta = Buffer.from(
      JSON.stringify([
        DOMAIN,
        m.host,
        m.label,
        m.createdNs.toString(),
        m.policyHash.toString('hex'),
        this.count,
      ]),
    );
    const outer = new Blake3();
    outer.update(meta);
    outer.update(recordsDigest);
    return outer.digest();
  }
}
