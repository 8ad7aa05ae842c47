/**
 * The scanner's output in key order while files are hashed ahead (src/hash/hash-ahead.ts): what
 * the walk produces is run now when nothing waits before it, else queued behind the files still
 * being hashed, and run in order as their results come back. Callers see the same calls in the same
 * order as a walk that hashed each file in place.
 *
 * It owns only that order and its bounds: at most `slots` hashes in flight (the worker's ring), at
 * most MAX_QUEUED outputs waiting (past it, the oldest are completed now).
 */

/** Outputs that may wait behind the hashes in flight. */
const MAX_QUEUED = 4096;

interface Queued {
  run: () => void;
  /** It waits for a hash result (and holds a slot of the worker's ring). */
  hashing: boolean;
}

export class InOrder {
  private q: Queued[] = [];
  private head = 0;
  private hashing = 0;

  constructor(private readonly slots: number) {}

  /** Run `out` now if nothing waits, else after everything that does. */
  emit(out: () => void): void {
    if (this.head === this.q.length) out();
    else {
      this.q.push({ run: out, hashing: false });
      if (this.q.length - this.head > MAX_QUEUED) this.step();
    }
  }

  /** Queue the completion of a file handed to the worker. */
  waitFor(complete: () => void): void {
    this.q.push({ run: complete, hashing: true });
    this.hashing++;
  }

  /** Make room for one more hash in flight: complete the oldest until a slot is free. */
  room(): void {
    while (this.hashing >= this.slots) this.step();
  }

  /** Run everything queued, in order. */
  drain(): void {
    while (this.head < this.q.length) this.step();
  }

  private step(): void {
    const x = this.q[this.head++];
    // What ran is let go: in a large directory the queue never empties until its end.
    if (this.head === this.q.length) {
      this.q = [];
      this.head = 0;
    } else if (this.head >= 1024) {
      this.q = this.q.slice(this.head);
      this.head = 0;
    }
    if (!x) return;
    if (x.hashing) this.hashing--;
    x.run();
  }
}
