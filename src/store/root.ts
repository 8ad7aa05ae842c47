/**
 * The baseline root: one BLAKE3 hash over every record in key order, bound to the host, label,
 * creation time and policy hash. Formats 1 and 2 hash the records' canonical bytes as one stream;
 * format 3 hashes each directory's run of records on its own and chains the runs' digests in code
 * order (dir-parts.ts), so a scan split over threads hands over a digest per directory, not every
 * record's bytes in order. Any edit of any stored record, of its order, or of the metadata
 * changes it; the root is what gets signed and announced to the log server.
 *
 * It decides integrity (a well-formed baseline that is not the one signed), not shape: it must not
 * read the database itself (callers feed it records in key order) nor re-check columns, which
 * row-check.ts has done by the time a record gets here.
 */

import { canonicalRecord, canonicalSize, ROOT_FORMAT, type RootFormat, writeCanonical } from '../fields.js';
import { Blake3 } from '../hash/blake3.js';
import type { FileRecord } from '../types.js';
import { DirChain, type DirPart, DirRuns, type RecordBytes } from './dir-parts.js';

/** Each format's domain string: no set of records has the same root in two formats. */
const DOMAIN: Record<RootFormat, string> = {
  1: 'fim baseline root v1',
  2: 'fim baseline root v2',
  3: 'fim baseline root v3',
};
/** Format 3's chain of directory parts starts with its own domain (dir-parts.ts). */
const RUNS_DOMAIN = 'fim baseline root v3 directories';

/** Format 3's record bytes: format 2's canonical bytes, written into the runs' batch. */
const CANONICAL_3: RecordBytes = {
  size: (key, r) => canonicalSize(key, r, 3),
  write: (out, view, at, key, r) => writeCanonical(out, view, at, key, r, 3),
};

/** Format 3: one directory's run of records, hashed where it was read (a scan worker). */
export function rootRuns(out: (p: DirPart) => void): {
  add(key: Buffer, r: FileRecord): void;
  addBytes(key: Buffer, bytes: Buffer): void;
  flush(): void;
  readonly pending: number;
} {
  const runs = new DirRuns(out);
  return {
    add: (key, r) => runs.addRecord(key, r, CANONICAL_3),
    addBytes: (key, bytes) => runs.add(key, bytes),
    flush: () => runs.flush(),
    get pending() {
      return runs.pending;
    },
  };
}

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
  /** Format 3 only: the chain, and the runs of records added one by one. */
  private readonly chain: DirChain | null;
  private readonly runs: ReturnType<typeof rootRuns> | null;

  constructor(readonly format: RootFormat = ROOT_FORMAT) {
    this.chain = format >= 3 ? new DirChain(RUNS_DOMAIN) : null;
    const chain = this.chain;
    this.runs = chain ? rootRuns((p) => chain.add(p)) : null;
  }

  add(key: Buffer, r: FileRecord): void {
    if (this.runs) this.runs.add(key, r);
    else this.stream(key, canonicalRecord(key, r, this.format));
  }

  /**
   * A record given as its format-2 canonical bytes (canonicalRecord(key, r, 2)), for formats 2 and
   * 3, whose roots hash exactly those: the reader of a check's rows (ops/row-process.ts) has them
   * written already. Format 1 hashes other bytes and takes `add`.
   */
  addCanonical(key: Buffer, bytes: Buffer): void {
    if (this.format < 2) throw new Error('root format 1 has other canonical bytes');
    if (this.runs) this.runs.addBytes(key, bytes);
    else this.stream(key, bytes);
  }

  /** Formats 1 and 2: one record's bytes into the one stream, in key order. */
  private stream(key: Buffer, bytes: Buffer): void {
    if (this.lastKey && Buffer.compare(this.lastKey, key) >= 0) throw new Error('records out of key order');
    this.lastKey = key;
    this.count++;
    this.h.update(bytes);
  }

  /**
   * Format 3: a directory's part, hashed elsewhere (rootRuns), in code order. Not mixed with
   * `add` in one directory: a run cut in two is two parts of one code, which the chain refuses.
   */
  addPart(p: DirPart): void {
    if (!this.chain || !this.runs) throw new Error(`root format ${this.format} has no directory parts`);
    this.runs.flush();
    this.chain.add(p);
  }

  get records(): number {
    if (this.chain && this.runs) return this.chain.records + this.runs.pending;
    return this.count;
  }

  finish(m: RootMeta): Buffer {
    this.runs?.flush();
    const recordsDigest = this.chain ? this.chain.digest() : this.h.digest();
    const meta = Buffer.from(
      JSON.stringify([
        DOMAIN[this.format],
        m.host,
        m.label,
        m.createdNs.toString(),
        m.policyHash.toString('hex'),
        this.records,
      ]),
    );
    const outer = new Blake3();
    outer.update(meta);
    outer.update(recordsDigest);
    return outer.digest();
  }
}
