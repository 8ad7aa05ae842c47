/**
 * The daemon's clocks: its periodic timers, and a tick on the monotonic clock that notices two
 * things no timer of its own would. A tick that arrives far later than due means the process did
 * not run meanwhile (SIGSTOP then SIGCONT, a frozen VM, a starved host): nothing was watched, and
 * an intruder who paused the daemon must not leave no trace, so the daemon reports it in a
 * signed pause event. And the host's keys end: the daemon stops a moment before, while its stop
 * can still be signed, instead of running on with alerts nobody can verify.
 *
 * It owns the timers only; what a pause or the keys' end means is the daemon's (the callbacks).
 * Once closed it sets no timer, so a stop during start-up leaves nothing to keep the process alive.
 */

/** How often the clock ticks (ms). */
export const CLOCK_TICK_MS = 1000;
/** A tick this much later than due is a pause (longer than any stall fim's own work causes). */
export const DEFAULT_PAUSE_THRESHOLD_MS = 10_000;
/** Stop this long before the keys end: the stop must still fall inside the last epoch. */
export const KEYS_END_MARGIN_MS = 2000;

export interface ClockOptions {
  /** Runs a callback so that what it throws is reported, not fatal (the daemon's guard). */
  guard(fn: () => void): void;
  /** When the host's keys end (ms since the epoch); null without keys. */
  keysEndMs: number | null;
  /** The process did not run for about `pausedMs` (a tick expected every `expectedMs`). */
  onPause(pausedMs: number, expectedMs: number): void;
  /** The keys end within KEYS_END_MARGIN_MS: called once. */
  onKeysEnd(endMs: number): void;
  /** Default DEFAULT_PAUSE_THRESHOLD_MS (a test hook may lower it). */
  pauseThresholdMs?: number;
}

export class DaemonClock {
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(private readonly o: ClockOptions) {}

  /** Runs `fn` every `ms` under the guard, until closed. */
  every(ms: number, fn: () => void): void {
    if (this.closed) return;
    this.timers.push(
      setInterval(() => {
        if (!this.closed) this.o.guard(fn);
      }, ms),
    );
  }

  /** Starts the tick that watches for pauses and for the keys' end. */
  start(): void {
    const threshold = this.o.pauseThresholdMs ?? DEFAULT_PAUSE_THRESHOLD_MS;
    let last = performance.now();
    let ended = false;
    this.every(CLOCK_TICK_MS, () => {
      const now = performance.now();
      const lateMs = now - last - CLOCK_TICK_MS;
      last = now;
      if (lateMs > threshold) this.o.onPause(lateMs, CLOCK_TICK_MS);
      const end = this.o.keysEndMs;
      if (!ended && end !== null && Date.now() >= end - KEYS_END_MARGIN_MS) {
        ended = true;
        this.o.onKeysEnd(end);
      }
    });
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
  }
}
