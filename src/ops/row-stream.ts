/**
 * A `--fast` check's baseline rows read by a second process (row-process.ts) while this one walks.
 * Reading and checking the rows (better-sqlite3 materialising 19 columns a row, each checked) cost
 * about as much as the walk itself in a `--fast` check. A worker thread did not pay (measured:
 * two busy isolates in one process share V8's helper threads, and each ran half again slower); a
 * process has its own. It is started with the command (it takes about 0.1 s to load), reads in
 * its own read transaction, and writes frames to a pipe this process reads synchronously.
 *
 * What must hold (as for a check that reads its rows itself, ops/check.ts):
 * - every record compared is one the root check covered: the reader verifies exactly the records
 *   it writes, and the stream ends only with its `end` frame, after its root check; a root that
 *   does not hold, a row that does not read back, or a reader that dies is the error the check
 *   throws, never a shorter stream;
 * - the baseline is the one this process's snapshot holds and whose signature it checked: the
 *   reader's snapshot is another read transaction, so its first frame is its newest baseline,
 *   compared here field by field; when they differ (a baseline was made or accepted meanwhile),
 *   or the reader cannot start, the rows are read here, in this snapshot, as without it;
 * - memory stays bounded: the pipe holds 1 MiB, and the reader waits while it is full.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, readSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readCanonical } from '../fields.js';
import type { BaselineMeta, KeyedRecord, Store } from '../store/store.js';
import { pipe } from '../sys/libc.js';
import { decodeError, type WireError } from '../worker-error.js';
import { decodeMeta, FRAME, HEADER_BYTES, MAX_FRAME, sameMeta } from './row-frames.js';
import { verifiedRecords } from './verify-baseline.js';

// The reader's one-file bundle (scripts/bundle.mjs), named as from dist/'s top (split-pool.ts).
const SCRIPT_URL = new URL('../bundle/row-process.js', import.meta.url);
/** What the pipe holds: the reader writes this far ahead of the walk (fewer switches between them). */
const PIPE_BYTES = 1 << 20;
/** The launcher's heap flags, which the reader runs with too (bin/fim). */
const HEAP_FLAG = /^--(max-semi-space-size|heap-growing-percent|max-old-space-size)=/;

export class RowReader {
  private fd: number | null;
  private used = false;

  private constructor(
    private readonly child: ChildProcess,
    fd: number,
  ) {
    this.fd = fd;
  }

  /**
   * A reader of `database`'s newest baseline, loading now; null where it cannot be started (then
   * the rows are read on the caller's thread). `script`: the reader's script (tests give others).
   */
  static start(database: string, script: URL = SCRIPT_URL): RowReader | null {
    const path = fileURLToPath(script);
    if (!existsSync(path)) return null;
    const p = pipe(PIPE_BYTES);
    if (!p) return null;
    try {
      const child = spawn(
        process.execPath,
        [...process.execArgv.filter((a) => HEAP_FLAG.test(a)), path, database],
        {
          stdio: ['ignore', 'ignore', 'inherit', p.write],
        },
      );
      // Its exit is read from the pipe (end of file); the process must not keep this one alive.
      child.on('error', () => {});
      child.unref();
      return new RowReader(child, p.read);
    } catch {
      closeSync(p.read);
      return null;
    } finally {
      closeSync(p.write);
    }
  }

  /**
   * The records of `meta` (this process's newest baseline, whose signature it checked), in key
   * order; the stream ends only once the root check over them passed. Used once.
   */
  *records(store: Store, meta: BaselineMeta): Generator<KeyedRecord> {
    if (this.used) throw new Error('row reader: used twice');
    this.used = true;
    try {
      const first = this.frame(true);
      if (
        first === null ||
        first.kind !== FRAME.meta ||
        !sameMeta(decodeMeta(JSON.parse(first.body.toString())), meta)
      ) {
        this.close();
        yield* verifiedRecords(store, meta);
        return;
      }
      for (;;) {
        const f = this.frame(false);
        if (f === null)
          throw new Error('row reader: the process reading the baseline stopped before it was done');
        if (f.kind === FRAME.end) return;
        if (f.kind === FRAME.fail) throw decodeError(JSON.parse(f.body.toString()) as WireError);
        if (f.kind !== FRAME.rows) throw new Error(`row reader: unexpected frame ${f.kind}`);
        const view = new DataView(f.body.buffer, f.body.byteOffset, f.body.length);
        for (let at = 0; at < f.body.length; ) {
          const r = readCanonical(f.body, view, at);
          at = r.end;
          yield { key: r.key, record: r.record };
        }
      }
    } finally {
      this.close();
    }
  }

  /**
   * The next frame; null at the end of the pipe. `first`: a reader that fails before its first
   * frame (a database it cannot open read-only, say) gives null too, and the rows are read here.
   */
  private frame(first: boolean): { kind: number; body: Buffer } | null {
    const head = Buffer.alloc(HEADER_BYTES);
    if (!this.fill(head)) return null;
    const kind = head.readUInt8(0);
    const length = head.readUInt32LE(4);
    if (length > MAX_FRAME) throw new Error(`row reader: a frame of ${length} bytes`);
    // A buffer of its own per frame: the records read from it are views of it.
    const body = Buffer.allocUnsafeSlow(length);
    if (!this.fill(body)) return null;
    if (first && kind === FRAME.fail) return null;
    return { kind, body };
  }

  /** Read exactly `b.length` bytes; false at the end of the pipe. */
  private fill(b: Buffer): boolean {
    if (this.fd === null) return false;
    for (let o = 0; o < b.length; ) {
      const n = readSync(this.fd, b, o, b.length - o, null);
      if (n === 0) return false;
      o += n;
    }
    return true;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
  }
}
