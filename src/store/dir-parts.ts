/**
 * Digests by directory: a key-ordered stream of records cut into runs of one directory's entries
 * (one parent directory code each, see path-key.ts), each run hashed on its own, and the runs'
 * digests chained in code order. The baseline root (format 3, root.ts) and the deploy digest
 * (deploy-digest.ts) are built this way so that a scan split over threads by subtree can hash
 * each directory where it was read and hand the main thread 36 bytes and a code per directory,
 * in any order of arrival, instead of every record's bytes in key order.
 *
 * It hashes what it is fed; the caller decides what a record's bytes are. It must not accept a
 * run out of code order: the chain is one order, and any other would be a different root.
 */
import { Blake3 } from '../hash/blake3.js';
import type { FileRecord } from '../types.js';

/** One directory's run: its code, how many records, their digest. */
export interface DirPart {
  code: Buffer;
  count: number;
  digest: Buffer;
}

/** Where a key's parent code ends (before its 00 00), 0 for an entry of "/" and for "/" itself. */
export function parentEnd(key: Uint8Array): number {
  for (let i = 0; i + 1 < key.length; i++) if (key[i] === 0 && key[i + 1] === 0) return i;
  return 0;
}

function sameParent(code: Buffer, key: Buffer, end: number): boolean {
  return end === code.length && key.compare(code, 0, end, 0, end) === 0;
}

/**
 * A record's bytes as a digest hashes them, written straight into the runs' batch (no Buffer of
 * its own): `size` says how many, `write` puts them at `at` and returns where they end.
 */
export interface RecordBytes {
  size(key: Buffer, r: FileRecord): number;
  write(out: Buffer, view: DataView, at: number, key: Buffer, r: FileRecord): number;
}

/**
 * Records' bytes gathered before one call into the native hasher. A call per record (and a Buffer
 * per record for its bytes) cost more than writing the bytes: about a third of a check's root.
 */
const BATCH = 1 << 15;

/** Cuts a key-ordered stream into directory runs and hands each run's part to `out`. */
export class DirRuns {
  private readonly h = new Blake3();
  private readonly batch = Buffer.allocUnsafeSlow(BATCH);
  private readonly view = new DataView(this.batch.buffer, this.batch.byteOffset, BATCH);
  private used = 0;
  private code: Buffer | null = null;
  private count = 0;
  private lastKey: Buffer | null = null;

  constructor(private readonly out: (p: DirPart) => void) {}

  /** The record at `key`, as `bytes`. */
  add(key: Buffer, bytes: Buffer): void {
    this.enter(key);
    if (bytes.length > BATCH - this.used) this.drain();
    if (bytes.length > BATCH) this.h.update(bytes);
    else this.used += bytes.copy(this.batch, this.used);
    this.count++;
  }

  /** The record at `key`, as `w` writes it. */
  addRecord(key: Buffer, r: FileRecord, w: RecordBytes): void {
    this.enter(key);
    const n = w.size(key, r);
    if (n > BATCH - this.used) this.drain();
    if (n > BATCH) {
      const own = Buffer.allocUnsafe(n);
      w.write(own, new DataView(own.buffer, own.byteOffset, n), 0, key, r);
      this.h.update(own);
    } else this.used = w.write(this.batch, this.view, this.used, key, r);
    this.count++;
  }

  /** A new key, in order: a new run when its directory is not the open run's. */
  private enter(key: Buffer): void {
    if (this.lastKey && Buffer.compare(this.lastKey, key) >= 0) throw new Error('records out of key order');
    this.lastKey = key;
    const end = parentEnd(key);
    if (this.code === null || !sameParent(this.code, key, end)) {
      this.flush();
      // A copy: the key may be a view of a larger buffer that must not stay alive with the part.
      this.code = Buffer.from(key.subarray(0, end));
    }
  }

  /** The batch into the hasher. */
  private drain(): void {
    if (this.used === 0) return;
    this.h.update(this.batch.subarray(0, this.used));
    this.used = 0;
  }

  /** Records in the open run. */
  get pending(): number {
    return this.count;
  }

  /** The open run's part out (at the end, and before another thread's runs come in between). */
  flush(): void {
    if (this.code === null) return;
    this.drain();
    this.out({ code: this.code, count: this.count, digest: this.h.digest() });
    this.h.reset();
    this.code = null;
    this.count = 0;
  }
}

/** The chain of parts in code order: each part framed as len(code) u32, code, count u32, digest. */
export class DirChain {
  private readonly h = new Blake3();
  private last: Buffer | null = null;
  private total = 0;

  constructor(domain: string) {
    this.h.update(Buffer.from(domain));
  }

  add(p: DirPart): void {
    if (p.digest.length !== 32 || p.count < 1) throw new Error('a directory part without records');
    if (this.last && Buffer.compare(this.last, p.code) >= 0)
      throw new Error('directory parts out of code order');
    this.last = p.code;
    this.total += p.count;
    const head = Buffer.allocUnsafe(8 + p.code.length);
    head.writeUInt32BE(p.code.length, 0);
    p.code.copy(head, 4);
    head.writeUInt32BE(p.count, 4 + p.code.length);
    this.h.update(head);
    this.h.update(p.digest);
  }

  /** Records in all parts so far. */
  get records(): number {
    return this.total;
  }

  digest(): Buffer {
    return this.h.digest();
  }
}
