/**
 * The worker half of hash-ahead.ts: waits on the ring's next slot, hashes the descriptor it is
 * given (the scanner opened and checked it, and closes it), writes the digests into the slot, and
 * goes on to the next, until it finds STOP. It reads what it is given and nothing else: no open,
 * no path, no judgement of the result.
 */
import { workerData } from 'node:worker_threads';
import {
  type AheadShared,
  BIGS,
  BYTES,
  DONE,
  EMPTY,
  F_PREFIX,
  F_SHA256,
  F_SPARSE,
  INTS,
  POSTED,
  PROGRESS,
  S_ERROR,
  S_OK,
  S_OVERFLOW,
  SLOTS,
} from './hash-ahead.js';
import { FileHasher } from './hash-file.js';

const { ints, bigs, bytes } = workerData as AheadShared;
/** Loads of the state word before sleeping on it (some tens of microseconds). */
const SPIN = 20_000;
const hasher = new FileHasher(undefined, undefined, () => Atomics.add(ints, PROGRESS, 1));
Atomics.add(ints, PROGRESS, 1);

for (let t = 0; ; t++) {
  const slot = t % SLOTS;
  const i = slot * INTS;
  // EMPTY, or DONE from SLOTS tickets ago (not yet taken back): the next job is not posted yet.
  let state = Atomics.load(ints, i);
  // A short spin first: the walk posts the next file within microseconds, and a sleep would make
  // each post a futex wake on its side and a wake-up delay on ours (measured: 8% of a check).
  for (let spin = 0; spin < SPIN && (state === EMPTY || state === DONE); spin++)
    state = Atomics.load(ints, i);
  while (state === EMPTY || state === DONE) {
    Atomics.wait(ints, i, state);
    state = Atomics.load(ints, i);
  }
  if (state !== POSTED) break; // STOP
  const flags = ints[i + 2] ?? 0;
  const b = slot * BIGS;
  const r = slot * BYTES;
  try {
    const out = hasher.readDescriptor(
      ints[i + 1] ?? -1,
      flags & F_PREFIX ? bigs[b] : undefined,
      bigs[b + 1] ?? 0n,
      (flags & F_SPARSE) !== 0,
      (flags & F_SHA256) !== 0,
    );
    if (out.overflow) ints[i + 3] = S_OVERFLOW;
    else {
      ints[i + 3] = S_OK;
      bigs[b + 2] = out.total;
      bytes.set(out.content, r);
      if (out.sha256) bytes.set(out.sha256, r + 32);
      // A file shorter than the prefix asked for has no prefix hash.
      ints[i + 4] = out.prefix ? 1 : 0;
      if (out.prefix) bytes.set(out.prefix.hash, r + 64);
    }
  } catch {
    ints[i + 3] = S_ERROR; // the scanner reads the file again itself and reports what it finds
  }
  Atomics.store(ints, i, DONE);
  Atomics.notify(ints, i);
}
