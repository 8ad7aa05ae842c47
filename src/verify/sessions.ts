/**
 * One host's sessions (a session id is new at each start of the sender): which session an
 * authenticated message belongs to, its sequence numbers (exact gaps, late arrivals, duplicates
 * and replays, replays from sessions already evicted), restarts and unclean restarts (a new session
 * while the previous one had started and never sent its stop), and gap warnings streamed once the
 * sender is REORDER_WINDOW messages past them. Memory is bounded: MAX_SESSIONS_PER_HOST sessions
 * in full, the ids of MAX_CLOSED_SIDS evicted ones. It is fed only authenticated messages and
 * must not authenticate, judge roots or measure silence.
 */

import { type MessageAt, nsToIso, type Problem, type SessionReport } from './problems.js';
import { formatIntervals, type Interval, SequenceTracker } from './sequence.js';

/** Streamed gap warnings wait until the sender is this many messages past the gap (UDP reorders). */
export const REORDER_WINDOW = 32;
export const MAX_SESSIONS_PER_HOST = 64;
export const MAX_CLOSED_SIDS = 1024;

/** What the sessions need of an authenticated message. */
export interface SessionMessage extends MessageAt {
  readonly tNs: bigint;
  /** The event type (`start` and `stop` open and close a session). */
  readonly ev: string;
}

/** A session in full. Opaque to callers, who hand it back to `streamGaps`. */
export interface Session {
  readonly sid: string;
  readonly seq: SequenceTracker;
  firstSeq: number;
  verified: number;
  started: boolean;
  stopped: boolean;
  firstNs: bigint;
  lastNs: bigint;
  /** Gaps ending at or below this were already streamed as problems. */
  reportedUpTo: number;
}

export interface Observation {
  /** Problems of this message: an unclean restart, or a duplicate or replay. */
  readonly problems: Problem[];
  /** The session the message counted in; undefined for a duplicate or replay (it counts nowhere). */
  readonly session: Session | undefined;
}

export interface SessionTotals {
  sessions: SessionReport[];
  duplicates: number;
  missingCount: number;
  /** Gaps still open at the end, one problem per session. */
  gaps: Problem[];
}

export class HostSessions {
  /** Authenticated messages, duplicates and replays included. */
  verified = 0;
  restarts = 0;
  uncleanRestarts = 0;
  private readonly sessions = new Map<string, Session>();
  private readonly closedSids = new Set<string>();
  private current: Session | undefined;
  /** Folded counters of sessions evicted from `sessions`. */
  private readonly evicted = { duplicates: 0, missing: 0, count: 0 };

  constructor(readonly host: string) {}

  /** Counts an authenticated message in its session. */
  observe(m: SessionMessage): Observation {
    const problems: Problem[] = [];
    const s = this.sessionFor(m, problems);
    this.verified++;
    if (!s) {
      this.evicted.duplicates++;
      problems.push(this.duplicate(m, `replay of a message from an old session ${m.sid}`));
      return { problems, session: undefined };
    }
    if (s.seq.observe(m.seq) === 'duplicate') {
      problems.push(this.duplicate(m, `duplicate or replayed seq ${m.seq}`));
      return { problems, session: undefined };
    }
    s.verified++;
    if (m.seq < s.firstSeq) s.firstSeq = m.seq;
    if (m.tNs > s.lastNs) s.lastNs = m.tNs;
    if (m.tNs < s.firstNs) s.firstNs = m.tNs;
    if (m.ev === 'start') s.started = true;
    if (m.ev === 'stop') s.stopped = true;
    return { problems, session: s };
  }

  /** The gaps of `s` the sender is now REORDER_WINDOW messages past and that were not yet streamed. */
  streamGaps(s: Session): Problem[] {
    const upTo = s.seq.highest - REORDER_WINDOW;
    if (upTo <= s.reportedUpTo) return [];
    const ivs: Interval[] = s.seq.missing.filter((iv) => iv.to > s.reportedUpTo && iv.to <= upTo);
    s.reportedUpTo = upTo;
    if (ivs.length === 0) return [];
    const n = ivs.reduce((a, iv) => a + iv.to - iv.from + 1, 0);
    return [
      {
        kind: 'gap',
        host: this.host,
        sid: s.sid,
        detail: `${n} message(s) missing: seq ${formatIntervals(ivs)}`,
      },
    ];
  }

  /** The sessions for the report, the totals (evicted sessions included) and the open gaps. */
  totals(): SessionTotals {
    const out: SessionTotals = {
      sessions: [],
      duplicates: this.evicted.duplicates,
      missingCount: this.evicted.missing,
      gaps: [],
    };
    for (const s of this.sessions.values()) {
      out.duplicates += s.seq.duplicates;
      const miss = s.seq.missingCount();
      out.missingCount += miss;
      if (s.seq.missing.length > 0 || s.seq.abandoned > 0) {
        const extra = s.seq.abandoned > 0 ? ` (and ${s.seq.abandoned} older ones)` : '';
        out.gaps.push({
          kind: 'gap',
          host: this.host,
          sid: s.sid,
          detail: `${miss} message(s) missing: seq ${formatIntervals(s.seq.missing)}${extra}`,
        });
      }
      out.sessions.push({
        sid: s.sid,
        firstSeq: s.firstSeq,
        lastSeq: s.seq.highest,
        verified: s.verified,
        duplicates: s.seq.duplicates,
        late: s.seq.late,
        missingCount: miss,
        missing: formatIntervals(s.seq.missing),
        started: s.started,
        stopped: s.stopped,
        firstTime: nsToIso(s.firstNs),
        lastTime: nsToIso(s.lastNs),
      });
    }
    return out;
  }

  private duplicate(m: SessionMessage, detail: string): Problem {
    return { kind: 'duplicate', line: m.line, host: this.host, sid: m.sid, seq: m.seq, detail };
  }

  /** The message's session, opened when new (a restart); undefined when the id was evicted. */
  private sessionFor(m: SessionMessage, problems: Problem[]): Session | undefined {
    const existing = this.sessions.get(m.sid);
    if (existing) return existing;
    if (this.closedSids.has(m.sid)) return undefined;
    const prev = this.current;
    if (prev) {
      this.restarts++;
      if (prev.started && !prev.stopped) {
        this.uncleanRestarts++;
        problems.push({
          kind: 'unclean-restart',
          line: m.line,
          host: this.host,
          sid: m.sid,
          detail: `new session ${m.sid} while session ${prev.sid} (started ${nsToIso(prev.firstNs)}) never sent a stop event: crash or kill?`,
        });
      }
    }
    const s: Session = {
      sid: m.sid,
      seq: new SequenceTracker(),
      firstSeq: m.seq,
      verified: 0,
      started: false,
      stopped: false,
      firstNs: m.tNs,
      lastNs: m.tNs,
      reportedUpTo: 0,
    };
    this.sessions.set(m.sid, s);
    this.current = s;
    if (this.sessions.size > MAX_SESSIONS_PER_HOST) this.evictOldest();
    return s;
  }

  /** Folds the oldest session into the counters and remembers its id, so a replay is still caught. */
  private evictOldest(): void {
    const oldest = this.sessions.entries().next().value;
    if (!oldest) return;
    const [oldSid, old] = oldest;
    this.sessions.delete(oldSid);
    this.evicted.count++;
    this.evicted.duplicates += old.seq.duplicates;
    this.evicted.missing += old.seq.missingCount();
    this.closedSids.add(oldSid);
    if (this.closedSids.size > MAX_CLOSED_SIDS) {
      const first = this.closedSids.values().next().value;
      if (first !== undefined) this.closedSids.delete(first);
    }
  }
}
