/**
 * One host's silence (`--max-silence`): when it was last heard, measured by the signed time inside
 * its newest authenticated message (never the syslog header, which relays rewrite, nor the time a
 * line was read), against the verifier's wall clock; a silence is reported once, until the host is
 * heard again. It must not authenticate or look at sessions: the caller tells it only about
 * messages that counted.
 */
import { nsToMs, type Problem } from './problems.js';

export const DEFAULT_MAX_SILENCE_MS = 180_000;

export interface SilenceReport {
  lastMessage: string | null;
  silentForMs: number | null;
  silence: boolean;
}

export class SilenceWatch {
  // Read and restored by snapshot.ts (verify-log --state) only.
  /** @internal */ lastNs: bigint | null = null;
  /** @internal */ reported = false;

  constructor(readonly host: string) {}

  /** An authenticated message dated `tNs` counted: the host is heard (an older date changes nothing). */
  heard(tNs: bigint): void {
    if (this.lastNs === null || tNs > this.lastNs) {
      this.lastNs = tNs;
      this.reported = false;
    }
  }

  /** A problem when the host has been silent longer than `maxSilenceMs` at `nowMs`, once per silence; 0 disables. */
  check(nowMs: number, maxSilenceMs: number): Problem | null {
    if (!(maxSilenceMs > 0) || this.reported) return null;
    const lastMs = this.lastNs === null ? null : nsToMs(this.lastNs);
    if (lastMs !== null && nowMs - lastMs <= maxSilenceMs) return null;
    this.reported = true;
    return {
      kind: 'silence',
      host: this.host,
      detail:
        lastMs === null
          ? 'no verified message at all from this host'
          : `no verified message for ${Math.round((nowMs - lastMs) / 1000)} s (since ${new Date(lastMs).toISOString()}; limit ${maxSilenceMs / 1000} s): fim stopped, or its alerts are blocked`,
    };
  }

  report(nowMs: number): SilenceReport {
    const lastMs = this.lastNs === null ? null : nsToMs(this.lastNs);
    return {
      lastMessage: lastMs === null ? null : new Date(lastMs).toISOString(),
      silentForMs: lastMs === null ? null : Math.max(0, nowMs - lastMs),
      silence: this.reported,
    };
  }
}
