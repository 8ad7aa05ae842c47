/**
 * What the daemon does with its clock's findings (clock.ts): a pause becomes a warning on the log
 * and a signed pause event; the keys' end stops the daemon with exit 20 and says why (the stop
 * event is still signed, by the last epoch's key). And the key expiry every heartbeat carries, so
 * the log server can warn before a host goes dark. Wording and events only: no timers here.
 */
import type { AlertEvent } from '../alert/index.js';
import { keysEndMs } from '../evidence.js';
import type { KeyStore } from '../keys/index.js';
import { type ClockOptions, DaemonClock } from './clock.js';
import { Pri } from './log.js';

export interface ClockHooks {
  guard(fn: () => void): void;
  notify(pri: number, msg: string, alert?: AlertEvent): void;
  /** Stop the daemon with exit 20 (keys), for this reason. */
  stop(reason: string): void;
  /** Run a full check (events may have been lost while the process did not run). */
  fullCheck(): void;
}

export function daemonClock(
  keys: KeyStore | null,
  pauseThresholdMs: number | undefined,
  h: ClockHooks,
): DaemonClock {
  const o: ClockOptions = {
    guard: h.guard,
    keysEndMs: keys ? keysEndMs(keys) : null,
    onPause: (pausedMs, expectedMs) => {
      h.notify(
        Pri.warning,
        `paused for ${Math.round(pausedMs / 1000)} s (SIGSTOP, a frozen VM or a starved host): nothing was watched meanwhile; running a full check`,
        { type: 'pause', pausedMs, expectedMs },
      );
      h.fullCheck();
    },
    onKeysEnd: (endMs) => {
      const why = `the host's keys in ${keys?.dir ?? '?'} expire at ${new Date(endMs).toISOString()}: nothing could be signed after that; run "fim keygen --rotate" (or "fim keygen --force" and enrol the new public key), then start fim again`;
      h.notify(Pri.crit, why);
      h.stop(why);
    },
    ...(pauseThresholdMs !== undefined ? { pauseThresholdMs } : {}),
  };
  return new DaemonClock(o);
}

/**
 * At each heartbeat: ended epochs' keys go, signed or not. A stop reason when that fails (the keys
 * were rotated or replaced under the daemon: it must restart to use them, not sign with the old).
 */
export function tendKeys(keys: KeyStore | null): string | null {
  try {
    keys?.erasePast();
    return null;
  } catch (err: unknown) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The heartbeat's key expiry field. */
export function keysExpiry(keys: KeyStore | null): { keysExpireMs?: number } {
  return keys ? { keysExpireMs: keysEndMs(keys) } : {};
}
