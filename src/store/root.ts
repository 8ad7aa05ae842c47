/**
 * The baseline root: one BLAKE3 hash over every record in key order, bound to the host, label,
 * creation time and policy hash. Any edit of any stored record, of its order, or of the metadata
 * changes it; the root is what gets signed and announced to the log server.
 *
 * It decides integrity (a well-formed baseline that is not the one signed), not shape: it must not
 * read the database itself (callers feed it records in key order) nor re-check columns, which
 * row-check.ts has done by the time a record gets here.
 */

import { canonicalRecord, ROOT_FORMAT, type RootFormat } from '../fields.js';
import { Blake3 } from '../hash/blake3.js';
import type { FileRecord } from '../types.js';

/** Each format's domain string: no set of records has the same root in two formats. */
const DOMAIN: Record<RootFormat, string> = { 1: 'fim baseline root v1', 2: 'fim baseline root v2' };

export interface RootMeta {
  host: string;
  label: string;
  createdNs: bigint;
  policyHash: Buffer;
  files: number;
}

/**
 * Feeds records in key order; `finish` binds the metadata and returns the root. `format`: the
 * baseline's root format when verifying one (BaselineMeta.format), the current one when making one.
 */
export class RootBuilder {
  private readonly h = new Blake3();
  private count = 0;
  private lastKey: Buffer | null = null;

  constructor(readonly format: RootFormat = ROOT_FORMAT) {}

  add(key: Buffer, r: FileRecord): void {
    if (this.lastKey && Buffer.compare(this.lastKey, key) >= 0) throw new Error('records out of key order');
    this.lastKey = key;
    this.count++;
    this.h.update(canonicalRecord(key, r, this.format));
  }

  get records(): number {
    return this.count;
  }

  finish(m: RootMeta): Buffer {
    const recordsDigest = this.h.digest();
    const meta = Buffer.from(
      JSON.stringify([
        DOMAIN[this.format],
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
