/**
 * The one way tests wait: poll a probe until it gives a value, or fail at a deadline with a message
 * that says what never happened. No fixed sleeps stand in for "long enough".
 */

export interface WaitOptions {
  /** What is awaited, for the failure message ("the daemon's ready line"). */
  what: string;
  /** Deadline in ms (default 10 s). */
  timeoutMs?: number;
  /** Poll interval in ms (default 20). */
  intervalMs?: number;
}

/** A pause of a chosen length: for timing that is the test's subject (a kill moment), never to sync. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Resolve with the probe's first value that is not `undefined`, `null` or `false`; reject when the
 * deadline passes first. The probe may be async; an exception from it fails the wait at once.
 */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: WaitOptions,
): Promise<T> {
  const timeout = opts.timeoutMs ?? 10_000;
  const interval = opts.intervalMs ?? 20;
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeout} ms waiting for ${opts.what}`);
    await delay(interval);
  }
}
