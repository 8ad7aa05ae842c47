/**
 * The outgoing queue of the stream transports (TCP, TLS). The alerter only needs this small
 * interface; the CLI backs it with SQLite so a restart loses nothing. MemoryQueue is the bounded
 * in-memory version used by tests and when no database is at hand.
 */

export interface QueuedMessage {
  id: number;
  msg: Buffer;
}

export interface OutboundQueue {
  /** Appends a message. A bounded queue drops its oldest entry when full (and counts it). */
  push(msg: Buffer): void;
  /** Up to `n` oldest unacknowledged messages, oldest first, without removing them. */
  peek(n: number): QueuedMessage[];
  /** Removes the message with this id (delivered). */
  ack(id: number): void;
}

export class MemoryQueue implements OutboundQueue {
  readonly capacity: number;
  private items: QueuedMessage[] = [];
  private head = 0;
  private nextId = 1;
  /** Messages dropped because the queue was full. */
  dropped = 0;

  constructor(capacity = 10_000) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('queue capacity must be >= 1');
    this.capacity = capacity;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  push(msg: Buffer): void {
    if (this.size >= this.capacity) {
      this.head++;
      this.dropped++;
    }
    this.items.push({ id: this.nextId++, msg });
    this.compact();
  }

  peek(n: number): QueuedMessage[] {
    return this.items.slice(this.head, this.head + Math.max(0, n));
  }

  ack(id: number): void {
    const first = this.items[this.head];
    if (first && first.id === id) {
      this.head++;
    } else {
      const i = this.items.findIndex((m, k) => k >= this.head && m.id === id);
      if (i >= 0) this.items.splice(i, 1);
    }
    this.compact();
  }

  /** Drops acknowledged slots now and then, so the array does not grow without bound. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
