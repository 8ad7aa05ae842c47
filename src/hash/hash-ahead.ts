/**
 * Hashing on the second core, ahead of the walk. The scanner opens and checks each regular file
 * itself (openat, fstat against the lstat), then hands the checked descriptor to one worker thread
 * that reads and hashes it (hash-worker.ts), while the walk goes on: stat'ing, comparing and
 * storing the entries before it. Results come back in the order the files were handed over.
 *
 * Jobs and results travel through shared memory, a ring of SLOTS slots, each with a state word
 * (empty → posted → done) that both sides wait on with Atomics: no message per file, and no event
 * loop on the scanner's side, which stays synchronous. The worker only reads a descriptor it is
 * given; the scanner keeps it open until it has the result, checks the file again by fstat after
 * (size and times unchanged, every byte read) and closes it. Anything unusual (a read error, a file
 * that grew or changed) is not judged here: the scanner hashes that file again itself, with its
 * bounded retries.
 *
 * It must not decide what a file's record is, nor outlive the scan (`close` stops the worker).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** Files in flight at most: enough to keep the worker busy across a run of small files. */
export const SLOTS = 128;
/** Int32 words per slot: state, fd, flags, status, whether a prefix hash came (and padding). */
export const INTS = 8;
/** BigInt64 words per slot: prefix length, read limit, bytes read. */
export const BIGS = 4;
/** Result bytes per slot: BLAKE3, SHA-256, prefix BLAKE3. */
export const BYTES = 96;

export const EMPTY = 0;
export const POSTED = 1;
export const DONE = 2;
export const STOP = 3;

export const F_SHA256 = 1;
export const F_SPARSE = 2;
export const F_PREFIX = 4;

/** The word after the slots: the worker adds one when it starts and for every chunk it reads. */
export const PROGRESS = SLOTS * INTS;
/** A worker that makes no progress at all for this long has stopped (ms): fail, never hang. */
const STALL_MS = 30_000;

export const S_OK = 0;
export const S_OVERFLOW = 1;
export const S_ERROR = 2;

export interface AheadJob {
  fd: number;
  limit: bigint;
  sparse: boolean;
  sha256: boolean;
  prefixLength?: bigint;
}

export type AheadResult =
  | {
      ok: true;
      total: bigint;
      content: Buffer;
      sha256: Buffer | null;
      prefix: { length: bigint; hash: Buffer } | null;
    }
  | { ok: false };

export interface AheadShared {
  ints: Int32Array;
  bigs: BigInt64Array;
  bytes: Uint8Array;
}

const WORKER = new URL('./hash-worker.js', import.meta.url);

export class HashAhead {
  private posted = 0;
  private taken = 0;
  private readonly jobs: (AheadJob | null)[] = new Array(SLOTS).fill(null);

  private constructor(private readonly s: AheadShared) {}

  /**
   * A worker to hash ahead, or null where there is none to have: one CPU only, its built script is
   * missing (the sources run under a test runner) or the thread cannot start. Then the scanner
   * hashes itself.
   */
  static start(): HashAhead | null {
    // One core (or a CPU quota of one): a second thread would only take turns with the walk.
    if (availableParallelism() < 2 || !existsSync(fileURLToPath(WORKER))) return null;
    const s: AheadShared = {
      ints: new Int32Array(new SharedArrayBuffer((SLOTS * INTS + 1) * 4)),
      bigs: new BigInt64Array(new SharedArrayBuffer(SLOTS * BIGS * 8)),
      bytes: new Uint8Array(new SharedArrayBuffer(SLOTS * BYTES)),
    };
    try {
      // It allocates a digest or two per file and reuses one read buffer: a small heap is plenty,
      // and keeps a baseline's peak memory near the scanner's own.
      const worker = new Worker(WORKER, {
        workerData: s,
        resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
      });
      // Never what keeps the process alive: close() stops it, and an exit ends it.
      worker.unref();
      return new HashAhead(s);
    } catch {
      return null;
    }
  }

  /** Files handed over and not yet taken back. */
  get inFlight(): number {
    return this.posted - this.taken;
  }

  get full(): boolean {
    return this.inFlight >= SLOTS;
  }

  /** Hand a checked descriptor over; returns its ticket. The ring must not be full. */
  submit(job: AheadJob): number {
    if (this.full) throw new Error('HashAhead: no free slot');
    const t = this.posted++;
    const slot = t % SLOTS;
    const { ints, bigs } = this.s;
    const i = slot * INTS;
    const b = slot * BIGS;
    ints[i + 1] = job.fd;
    ints[i + 2] =
      (job.sha256 ? F_SHA256 : 0) |
      (job.sparse ? F_SPARSE : 0) |
      (job.prefixLength !== undefined ? F_PREFIX : 0);
    bigs[b] = job.prefixLength ?? 0n;
    bigs[b + 1] = job.limit;
    this.jobs[slot] = job;
    Atomics.store(ints, i, POSTED);
    Atomics.notify(ints, i);
    return t;
  }

  /** The result of ticket `t`, waiting for it; tickets are taken in the order they were given. */
  take(t: number): AheadResult {
    if (t !== this.taken)
      throw new Error(`HashAhead: ticket ${t} taken out of order (next is ${this.taken})`);
    const slot = t % SLOTS;
    const { ints, bigs, bytes } = this.s;
    const i = slot * INTS;
    // No event loop runs while this waits, so the worker's death cannot be heard: a worker that
    // moves no byte for STALL_MS is taken for dead (a slow disk still moves its progress word).
    let seen = Atomics.load(ints, PROGRESS);
    let since = Date.now();
    // A small file is done within microseconds: spin a little before sleeping.
    for (let spin = 0; spin < 20_000 && Atomics.load(ints, i) !== DONE; spin++);
    while (Atomics.load(ints, i) !== DONE) {
      Atomics.wait(ints, i, POSTED, 1000);
      const now = Atomics.load(ints, PROGRESS);
      if (now !== seen) {
        seen = now;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS)
        throw new Error(`the hashing thread made no progress for ${STALL_MS / 1000} s`);
    }
    const job = this.jobs[slot];
    this.jobs[slot] = null;
    this.taken++;
    const status = ints[i + 3];
    const b = slot * BIGS;
    const r = slot * BYTES;
    const out: AheadResult =
      status === S_OK
        ? {
            ok: true,
            total: bigs[b + 2] ?? 0n,
            content: Buffer.from(bytes.subarray(r, r + 32)),
            sha256: job?.sha256 ? Buffer.from(bytes.subarray(r + 32, r + 64)) : null,
            prefix:
              job?.prefixLength !== undefined && ints[i + 4] === 1
                ? { length: job.prefixLength, hash: Buffer.from(bytes.subarray(r + 64, r + 96)) }
                : null,
          }
        : { ok: false };
    Atomics.store(ints, i, EMPTY);
    return out;
  }

  /** Stop the worker (after every ticket was taken: the scanner closes the descriptors). */
  close(): void {
    // A scan that failed with every slot in flight: the next slot is still the worker's to read;
    // leave it (the worker is unref'd: it keeps nothing alive).
    if (this.full) return;
    const i = (this.posted % SLOTS) * INTS;
    Atomics.store(this.s.ints, i, STOP);
    Atomics.notify(this.s.ints, i);
  }
}
