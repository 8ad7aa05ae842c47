/**
 * One host's sessions (a session id is new at each start of the sender): which session an
 * authenticated message belongs to, its sequence numbers (exact gaps, late arrivals, duplicates
 * and replays, replays from sessions already evicted), the session's kind (the daemon, or a
 * one-shot command), restarts and unclean restarts judged among daemon sessions only (a new
 * daemon session while the previous one never sent its stop), the chain of starts (chain.ts),
 * a new session dated before the host's latest verified time minus the skew (a replay, whatever
 * memory still holds), heartbeat gaps inside a daemon session longer than the silence limit, the
 * daemon's own pause reports, one-shot sessions whose end never came, and gap warnings streamed
 * once the sender is REORDER_WINDOW messages past them. Memory is bounded: MAX_SESSIONS_PER_HOST
 * sessions in full (least recently heard evicted first), the ids of MAX_CLOSED_SIDS evicted
 * ones. It is fed only authenticated messages and must not authenticate, judge roots or measure
 * silence at the end.
 */

import { type Claim, HostChain, type Predecessor } from './chain.js';
import { detach } from './detach.js';
import { RecentDigests } from './digests.js';
import { type MessageAt, nsToIso, nsToMs, type Problem, type SessionReport } from './problems.js';
import { formatIntervals, type Interval, SequenceTracker } from './sequence.js';

/** Streamed gap warnings wait until the sender is this many messages past the gap (UDP reorders). */
export const REORDER_WINDOW = 32;
export const MAX_SESSIONS_PER_HOST = 64;
export const MAX_CLOSED_SIDS = 1024;
/** Digests remembered per session: a claim names its predecessor's last message, a recent one. */
export const DIGESTS_KEPT = 32;
/** The daemon's session kind (alert/alerter.ts DAEMON_KIND). */
export const DAEMON_KIND = 'watch';

/** What the sessions need of an authenticated message. */
export interface SessionMessage extends MessageAt {
  readonly tNs: bigint;
  /** The event type (`start` and `stop` open and close a session). */
  readonly ev: string;
  /** SHA-256 of the signed bytes (alert/sd.ts messageDigest); absent in unit tests. */
  readonly digest?: string;
  /** A start's kind parameter (absent: a sender from before session kinds, always the daemon). */
  readonly kind?: string;
  /** A start's claim about its predecessor. */
  readonly claim?: Claim;
  /** Dated past the verifier's clock plus the skew: it moves no "latest verified time". */
  readonly future?: boolean;
  /** A pause event's duration (ms). */
  readonly pausedMs?: number;
}

export interface SessionLimits {
  /** A new session dated earlier than the latest verified time minus this is a replay. */
  readonly skewMs: number;
  /** Heartbeats of one daemon session further apart than this are a problem; 0 disables. */
  readonly maxSilenceMs: number;
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
  /** The start's kind; 'watch' too once it sent a heartbeat; null while unknown. */
  kind: string | null;
  /** A later session's start claimed this one as its predecessor. */
  claimed: boolean;
  /** Time of its last heartbeat (daemon sessions). */
  lastHeartbeatNs: bigint | null;
  /** The digests of its most recent messages, by sequence number. */
  readonly digests: RecentDigests;
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
  /** New sessions refused as replays (dated before the host's latest verified time). */
  replays = 0;
  pauses = 0;
  /** The latest time of a counted message that was not future-dated. */
  latestNs: bigint | null = null;
  readonly chain: HostChain;
  // The state below is read and restored by snapshot.ts (verify-log --state) only.
  /** @internal */ readonly sessions = new Map<string, Session>();
  /** Made on the first eviction: most hosts never have 64 sessions. */
  /** @internal */ closedSids: Set<string> | undefined;
  /** The newest daemon session: unclean restarts are judged against it only. */
  /** @internal */ daemon: Session | undefined;
  /** Folded counters of sessions evicted from `sessions`. */
  /** @internal */ readonly evicted = { duplicates: 0, missing: 0, count: 0 };
  private readonly limits: SessionLimits;

  constructor(
    readonly host: string,
    limits: Partial<SessionLimits> = {},
  ) {
    // A complete set is shared as given (one per verifier, not one per host of a fleet).
    this.limits =
      limits.skewMs !== undefined && limits.maxSilenceMs !== undefined
        ? (limits as SessionLimits)
        : { skewMs: limits.skewMs ?? 300_000, maxSilenceMs: limits.maxSilenceMs ?? 0 };
    this.chain = new HostChain(host);
  }

  /** Counts an authenticated message in its session. */
  observe(m: SessionMessage): Observation {
    const problems: Problem[] = [];
    this.verified++;
    const s = this.sessionFor(m, problems);
    if (!s) {
      this.evicted.duplicates++;
      if (problems.length === 0)
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
    if (!m.future && (this.latestNs === null || m.tNs > this.latestNs)) this.latestNs = m.tNs;
    if (m.digest !== undefined) s.digests.set(m.seq, m.digest);
    if (m.ev === 'start') this.onStart(s, m, problems);
    if (m.ev === 'stop') s.stopped = true;
    if (m.ev === 'heartbeat' || m.ev === 'pause') this.onDaemonMessage(s, m, problems);
    return { problems, session: s };
  }

  /** A start: the session's kind, the chain claim, and (for the daemon) the unclean restart test. */
  private onStart(s: Session, m: SessionMessage, problems: Problem[]): void {
    s.started = true;
    s.kind = m.kind === undefined ? DAEMON_KIND : detach(m.kind);
    if (s.kind === DAEMON_KIND) this.becameDaemon(s, m, problems);
    if (!m.claim) return;
    const r = this.chain.onStart(s.sid, m.claim, m.line, (sid) => this.predecessor(sid));
    for (const p of r.problems) problems.push(p);
    if (!r.reached) return;
    const prev = this.sessions.get(r.reached.sid);
    if (prev && prev !== s) {
      prev.claimed = true;
      // Its last messages were sent (the host's database says so), so those not here are a gap.
      prev.seq.reach(r.reached.seq);
    }
  }

  private predecessor(sid: string): Predecessor | 'known' | undefined {
    const p = this.sessions.get(sid);
    if (p) return { highest: p.seq.highest, digestAt: (n) => p.digests.get(n) };
    return this.closedSids?.has(sid) ? 'known' : undefined;
  }

  /** Only the daemon sends heartbeats and pauses: the session is a daemon's. */
  private onDaemonMessage(s: Session, m: SessionMessage, problems: Problem[]): void {
    if (s.kind !== DAEMON_KIND) {
      s.kind = DAEMON_KIND;
      this.becameDaemon(s, m, problems);
    }
    if (m.ev === 'pause') {
      this.pauses++;
      problems.push({
        kind: 'pause',
        line: m.line,
        host: this.host,
        sid: m.sid,
        seq: m.seq,
        detail: `the daemon reports it was paused for ${Math.round((m.pausedMs ?? 0) / 1000)} s (SIGSTOP, a frozen VM, or starvation): nothing was watched meanwhile`,
      });
      return;
    }
    // A future-dated heartbeat is reported as such; it must not set the next gap's start.
    if (m.future) return;
    const last = s.lastHeartbeatNs;
    const limit = this.limits.maxSilenceMs;
    if (last !== null && limit > 0 && m.tNs > last) {
      const gapMs = nsToMs(m.tNs) - nsToMs(last);
      if (gapMs > limit)
        problems.push({
          kind: 'heartbeat-gap',
          line: m.line,
          host: this.host,
          sid: m.sid,
          seq: m.seq,
          detail: `${Math.round(gapMs / 1000)} s between heartbeats (${nsToIso(last)} .. ${nsToIso(m.tNs)}; limit ${limit / 1000} s): the daemon was stopped or its alerts were blocked`,
        });
    }
    if (last === null || m.tNs > last) s.lastHeartbeatNs = m.tNs;
  }

  /** `s` is known to be a daemon session: a restart, unclean when the daemon before never stopped. */
  private becameDaemon(s: Session, m: SessionMessage, problems: Problem[]): void {
    const prev = this.daemon;
    if (prev === s) return;
    this.daemon = s;
    if (!prev) return;
    this.restarts++;
    if (prev.stopped) return;
    this.uncleanRestarts++;
    problems.push({
      kind: 'unclean-restart',
      line: m.line,
      host: this.host,
      sid: m.sid,
      detail: `new daemon session ${m.sid} while daemon session ${prev.sid} (${prev.started ? 'started' : 'first heard'} ${nsToIso(prev.firstNs)}) never sent a stop event: crash or kill?`,
    });
  }

  /**
   * One-shot sessions whose end never came: no stop, no later start claimed them, and a later
   * session began (so they are not simply still running). Checked at the end of a run. Not when a
   * later session's own start is missing: that start may be the one that named this session (lost
   * datagrams, 1% of boundaries at 10% loss), and its absence is already a gap, so a deleted end is
   * still reported, as that gap.
   */
  unended(): Problem[] {
    const out: Problem[] = [];
    const all = [...this.sessions.values()];
    for (const s of all) {
      if (s.stopped || s.claimed || s.kind === null || s.kind === DAEMON_KIND) continue;
      const later = all.filter((o) => o !== s && o.firstNs > s.lastNs);
      if (later.length === 0 || later.some((o) => !o.started)) continue;
      out.push({
        kind: 'unended-session',
        host: this.host,
        sid: s.sid,
        detail: `${s.kind} session ${s.sid} (started ${nsToIso(s.firstNs)}) never sent its stop and no later session names it: its end was deleted or blocked`,
      });
    }
    return out;
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
        kind: s.kind,
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

  /**
   * The message's session, opened when new; undefined when the id was evicted, or when a new
   * session is dated before the host's latest verified time minus the skew (a replay of an old
   * session, caught by time whatever the memory bounds let go).
   */
  private sessionFor(m: SessionMessage, problems: Problem[]): Session | undefined {
    const existing = this.sessions.get(m.sid);
    if (existing) {
      // Least recently heard is evicted first: a long daemon session outlives many checks.
      this.sessions.delete(existing.sid);
      this.sessions.set(existing.sid, existing);
      return existing;
    }
    if (this.closedSids?.has(m.sid)) return undefined;
    const skewNs = BigInt(this.limits.skewMs) * 1_000_000n;
    if (this.latestNs !== null && m.tNs < this.latestNs - skewNs) {
      this.replays++;
      problems.push({
        kind: 'replay',
        line: m.line,
        host: this.host,
        sid: m.sid,
        seq: m.seq,
        detail: `a session not seen before (${m.sid}), dated ${nsToIso(m.tNs)}, before this host's latest verified message (${nsToIso(this.latestNs)}) minus the skew: an old session replayed; ignored`,
      });
      return undefined;
    }
    const s: Session = {
      sid: detach(m.sid),
      seq: new SequenceTracker(),
      firstSeq: m.seq,
      verified: 0,
      started: false,
      stopped: false,
      firstNs: m.tNs,
      lastNs: m.tNs,
      reportedUpTo: 0,
      kind: null,
      claimed: false,
      lastHeartbeatNs: null,
      digests: new RecentDigests(DIGESTS_KEPT),
    };
    this.sessions.set(s.sid, s);
    if (this.sessions.size > MAX_SESSIONS_PER_HOST) this.evictOldest();
    return s;
  }

  /** Folds the oldest session into the counters and remembers its id, so a replay is still caught. */
  private evictOldest(): void {
    const oldest = this.sessions.entries().next().value;
    if (!oldest) return;
    const [oldSid, old] = oldest;
    this.sessions.delete(oldSid);
    if (this.daemon === old) this.daemon = undefined;
    this.evicted.count++;
    this.evicted.duplicates += old.seq.duplicates;
    this.evicted.missing += old.seq.missingCount();
    this.closedSids ??= new Set();
    this.closedSids.add(oldSid);
    if (this.closedSids.size > MAX_CLOSED_SIDS) {
      const first = this.closedSids.values().next().value;
      if (first !== undefined) this.closedSids.delete(first);
    }
  }
}
