/**
 * One host's baseline roots: the root last announced (by a `baseline` or `accept` event), the
 * handover window in which the previous root is still honest (only from a session that was
 * already running when the new root was announced, and not the announcing one: a daemon that has
 * not yet picked the new baseline up), and every other event that names a root different from the
 * announced one (the baseline was replaced without an announcement). It
 * is fed only authenticated, in-session messages, in input order, and must not look at sequence
 * numbers, signatures or silence.
 */
import { detach } from './detach.js';
import type { MessageAt, Problem } from './problems.js';

/**
 * After a new root is announced, how long the previous root may still appear (from a running
 * daemon that has not yet picked the new baseline up; it polls every second).
 */
export const ROOT_HANDOVER_MS = 10_000;
/** Mismatches past this many are counted, not reported one by one. */
export const MAX_ROOT_MISMATCHES = 20;
/** Events whose `root` parameter is the baseline root the sender enforces or announces. */
export const ROOT_EVENTS: ReadonlySet<string> = new Set([
  'start',
  'heartbeat',
  'summary',
  'baseline',
  'accept',
]);
const ANNOUNCING = new Set(['baseline', 'accept']);

export class RootTracker {
  announcedRoot: string | null = null;
  mismatches = 0;
  /**
   * The root announced before the current one, accepted until `previousUntilNs`: a daemon learns of
   * an accepted baseline a moment after `fim accept` announced it, and its heartbeat in between
   * still names the old root honestly.
   */
  // Read and restored by snapshot.ts (verify-log --state) only.
  /** @internal */ previousRoot: string | null = null;
  /** @internal */ previousUntilNs = 0n;
  /** When the current root was announced, and by which session. */
  /** @internal */ announcedAtNs = 0n;
  /** @internal */ announcer = '';

  constructor(readonly host: string) {}

  /**
   * Follows the root that event `ev` at time `tNs` names (if any); a problem when it is not the
   * announced one. `sessionStartNs` is when the message's session was first heard.
   */
  observe(
    ev: string,
    root: string | undefined,
    tNs: bigint,
    at: MessageAt,
    sessionStartNs: bigint = tNs,
  ): Problem | null {
    if (root === undefined || !ROOT_EVENTS.has(ev)) return null;
    if (ANNOUNCING.has(ev)) {
      if (this.announcedRoot !== null && this.announcedRoot !== root) {
        this.previousRoot = this.announcedRoot;
        this.previousUntilNs = tNs + BigInt(ROOT_HANDOVER_MS) * 1_000_000n;
      }
      this.announcedRoot = detach(root);
      this.announcedAtNs = tNs;
      this.announcer = detach(at.sid);
      return null;
    }
    // `-`: the sender has no baseline yet.
    if (root === '-') return null;
    if (
      root === this.previousRoot &&
      tNs <= this.previousUntilNs &&
      at.sid !== this.announcer &&
      sessionStartNs <= this.announcedAtNs
    )
      return null;
    if (this.announcedRoot === null) {
      // The log began after the last announcement: the first root seen becomes the reference.
      this.announcedRoot = detach(root);
      return null;
    }
    if (root === this.announcedRoot) return null;
    this.mismatches++;
    if (this.mismatches > MAX_ROOT_MISMATCHES) return null;
    return {
      kind: 'baseline-mismatch',
      line: at.line,
      host: this.host,
      sid: at.sid,
      seq: at.seq,
      detail: `${ev} reports baseline root ${root}, but the last announced root is ${this.announcedRoot}: the baseline was replaced without an announcement`,
    };
  }
}
