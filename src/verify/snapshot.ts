/**
 * One host's verification state as plain JSON, for `verify-log --state`: what the sessions
 * (sequence high-water marks and missing intervals, kinds, chain claims, the newest daemon
 * session, the latest verified time), the roots, the silence watch and the failure counts hold,
 * so a rotated log or a restarted verifier continues the same stream. Times are strings (they
 * exceed 2^53 ns). Reading checks every field's type and bounds: a state file that does not hold
 * what this writes is refused with the field named (SnapshotError), never half-trusted.
 *
 * It converts; it must not judge messages, and it reads the modules' internal state only here.
 */

import { SEVERITIES, type Severity } from '../types.js';
import type { HostAuth } from './auth.js';
import type { HostChain } from './chain.js';
import { RecentDigests } from './digests.js';
import { HostHealth, RECENT_PROBLEMS, type RecentProblem, type SummaryHealth } from './health.js';
import { PROBLEM_KINDS } from './problems.js';
import type { RootTracker } from './roots.js';
import { SequenceTracker } from './sequence.js';
import { DIGESTS_KEPT, type HostSessions, type Session } from './sessions.js';
import type { SilenceWatch } from './silence.js';

export const SNAPSHOT_VERSION = 1;

export class SnapshotError extends Error {}

type Json = unknown;

/** Reads typed fields of untrusted JSON, naming the path of the first bad one. */
class Reader {
  constructor(readonly where: string) {}

  private fail(path: string, what: string): never {
    throw new SnapshotError(`${this.where}: ${path} is not ${what}`);
  }
  obj(v: Json, path: string): Record<string, Json> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'an object');
    return v as Record<string, Json>;
  }
  arr(v: Json, path: string): Json[] {
    if (!Array.isArray(v)) this.fail(path, 'a list');
    return v;
  }
  int(v: Json, path: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(path, 'a count');
    return v;
  }
  str(v: Json, path: string): string {
    if (typeof v !== 'string' || v.length > 300) this.fail(path, 'a short text');
    return v;
  }
  strOrNull(v: Json, path: string): string | null {
    return v === null ? null : this.str(v, path);
  }
  bool(v: Json, path: string): boolean {
    if (typeof v !== 'boolean') this.fail(path, 'true or false');
    return v;
  }
  ns(v: Json, path: string): bigint {
    if (typeof v !== 'string' || !/^-?\d{1,25}$/.test(v)) this.fail(path, 'a time in ns');
    return BigInt(v);
  }
  nsOrNull(v: Json, path: string): bigint | null {
    return v === null ? null : this.ns(v, path);
  }
}

function seqSnapshot(t: SequenceTracker): Json {
  return {
    highest: t.highest,
    missing: t.missing.map((iv) => [iv.from, iv.to]),
    abandoned: t.abandoned,
    late: t.late,
    duplicates: t.duplicates,
  };
}

function readSeq(r: Reader, v: Json, path: string): SequenceTracker {
  const o = r.obj(v, path);
  const t = new SequenceTracker();
  t.highest = r.int(o.highest, `${path}.highest`);
  t.missing = r.arr(o.missing, `${path}.missing`).map((iv, i) => {
    const pair = r.arr(iv, `${path}.missing[${i}]`);
    return {
      from: r.int(pair[0], `${path}.missing[${i}][0]`),
      to: r.int(pair[1], `${path}.missing[${i}][1]`),
    };
  });
  t.abandoned = r.int(o.abandoned, `${path}.abandoned`);
  t.late = r.int(o.late, `${path}.late`);
  t.duplicates = r.int(o.duplicates, `${path}.duplicates`);
  return t;
}

function sessionSnapshot(s: Session): Json {
  return {
    sid: s.sid,
    seq: seqSnapshot(s.seq),
    firstSeq: s.firstSeq,
    verified: s.verified,
    started: s.started,
    stopped: s.stopped,
    firstNs: s.firstNs.toString(),
    lastNs: s.lastNs.toString(),
    reportedUpTo: s.reportedUpTo,
    kind: s.kind,
    claimed: s.claimed,
    lastHeartbeatNs: s.lastHeartbeatNs === null ? null : s.lastHeartbeatNs.toString(),
    digests: s.digests.entries(),
  };
}

function readSession(r: Reader, v: Json, path: string): Session {
  const o = r.obj(v, path);
  return {
    sid: r.str(o.sid, `${path}.sid`),
    seq: readSeq(r, o.seq, `${path}.seq`),
    firstSeq: r.int(o.firstSeq, `${path}.firstSeq`),
    verified: r.int(o.verified, `${path}.verified`),
    started: r.bool(o.started, `${path}.started`),
    stopped: r.bool(o.stopped, `${path}.stopped`),
    firstNs: r.ns(o.firstNs, `${path}.firstNs`),
    lastNs: r.ns(o.lastNs, `${path}.lastNs`),
    reportedUpTo: r.int(o.reportedUpTo, `${path}.reportedUpTo`),
    kind: r.strOrNull(o.kind, `${path}.kind`),
    claimed: r.bool(o.claimed, `${path}.claimed`),
    lastHeartbeatNs: r.nsOrNull(o.lastHeartbeatNs, `${path}.lastHeartbeatNs`),
    digests: readDigests(r, o.digests, `${path}.digests`),
  };
}

function readDigests(r: Reader, v: Json, path: string): RecentDigests {
  const d = new RecentDigests(DIGESTS_KEPT);
  r.arr(v, path).forEach((x, i) => {
    const pair = r.arr(x, `${path}[${i}]`);
    const seq = r.int(pair[0], `${path}[${i}][0]`);
    if (!d.set(seq, r.str(pair[1], `${path}[${i}][1]`)))
      throw new SnapshotError(`${r.where}: ${path}[${i}][1] is not a SHA-256 digest in hex`);
  });
  return d;
}

/** The parts of one host that a snapshot covers. */
export interface HostParts {
  readonly auth: HostAuth;
  readonly sessions: HostSessions;
  readonly roots: RootTracker;
  readonly silence: SilenceWatch;
  readonly health: HostHealth;
  keysExpireMs: number | null;
  /** Fingerprints of the key sets the host handed over to. */
  readonly handedTo: string[];
}

export function hostSnapshot(h: HostParts): Json {
  const s = h.sessions;
  const chain: HostChain = s.chain;
  return {
    v: SNAPSHOT_VERSION,
    auth: {
      unsigned: h.auth.unsigned,
      uncertified: h.auth.uncertified,
      badSignature: h.auth.badSignature,
      epochMismatch: h.auth.epochMismatch,
      retiredUse: h.auth.retiredUse,
      retired: [...(h.auth.retired ?? [])],
    },
    sessions: {
      verified: s.verified,
      restarts: s.restarts,
      uncleanRestarts: s.uncleanRestarts,
      replays: s.replays,
      pauses: s.pauses,
      latestNs: s.latestNs === null ? null : s.latestNs.toString(),
      list: [...s.sessions.values()].map(sessionSnapshot),
      closedSids: [...(s.closedSids ?? [])],
      daemon: s.daemon?.sid ?? null,
      evicted: { ...s.evicted },
      chain: chain.snapshot(),
    },
    roots: {
      announcedRoot: h.roots.announcedRoot,
      mismatches: h.roots.mismatches,
      previousRoot: h.roots.previousRoot,
      previousUntilNs: h.roots.previousUntilNs.toString(),
      announcedAtNs: h.roots.announcedAtNs.toString(),
      announcer: h.roots.announcer,
    },
    silence: {
      lastNs: h.silence.lastNs === null ? null : h.silence.lastNs.toString(),
      reported: h.silence.reported,
    },
    keysExpireMs: h.keysExpireMs,
    handedTo: [...h.handedTo],
    health: healthSnapshot(h.health),
  };
}

/** Restores `v` (a hostSnapshot, from the state file) into the fresh parts of a host. */
export function restoreHost(h: HostParts, v: Json, where: string): void {
  const r = new Reader(where);
  const o = r.obj(v, 'state');
  if (o.v !== SNAPSHOT_VERSION)
    throw new SnapshotError(`${where}: state version ${String(o.v)} is not ${SNAPSHOT_VERSION}`);
  const a = r.obj(o.auth, 'auth');
  h.auth.unsigned = r.int(a.unsigned, 'auth.unsigned');
  h.auth.uncertified = r.int(a.uncertified, 'auth.uncertified');
  h.auth.badSignature = r.int(a.badSignature, 'auth.badSignature');
  h.auth.epochMismatch = r.int(a.epochMismatch, 'auth.epochMismatch');
  h.auth.retiredUse = r.int(a.retiredUse, 'auth.retiredUse');
  r.arr(a.retired, 'auth.retired').forEach((x, i) => {
    const pair = r.arr(x, `auth.retired[${i}]`);
    h.auth.retired ??= new Map();
    h.auth.retired.set(r.str(pair[0], `auth.retired[${i}][0]`), r.int(pair[1], `auth.retired[${i}][1]`));
  });
  const s = r.obj(o.sessions, 'sessions');
  const hs = h.sessions;
  hs.verified = r.int(s.verified, 'sessions.verified');
  hs.restarts = r.int(s.restarts, 'sessions.restarts');
  hs.uncleanRestarts = r.int(s.uncleanRestarts, 'sessions.uncleanRestarts');
  hs.replays = r.int(s.replays, 'sessions.replays');
  hs.pauses = r.int(s.pauses, 'sessions.pauses');
  hs.latestNs = r.nsOrNull(s.latestNs, 'sessions.latestNs');
  r.arr(s.list, 'sessions.list').forEach((x, i) => {
    const sess = readSession(r, x, `sessions.list[${i}]`);
    hs.sessions.set(sess.sid, sess);
  });
  r.arr(s.closedSids, 'sessions.closedSids').forEach((x, i) => {
    hs.closedSids ??= new Set();
    hs.closedSids.add(r.str(x, `sessions.closedSids[${i}]`));
  });
  const daemon = r.strOrNull(s.daemon, 'sessions.daemon');
  hs.daemon = daemon === null ? undefined : hs.sessions.get(daemon);
  const e = r.obj(s.evicted, 'sessions.evicted');
  hs.evicted.duplicates = r.int(e.duplicates, 'sessions.evicted.duplicates');
  hs.evicted.missing = r.int(e.missing, 'sessions.evicted.missing');
  hs.evicted.count = r.int(e.count, 'sessions.evicted.count');
  const c = r.obj(s.chain, 'sessions.chain');
  hs.chain.restore({
    claims: r.arr(c.claims, 'sessions.chain.claims').map((x, i) => {
      const pair = r.arr(x, `sessions.chain.claims[${i}]`);
      return [r.str(pair[0], `claims[${i}][0]`), r.str(pair[1], `claims[${i}][1]`)] as [string, string];
    }),
    startsSeen: r.int(c.startsSeen, 'sessions.chain.startsSeen'),
  });
  const ro = r.obj(o.roots, 'roots');
  h.roots.announcedRoot = r.strOrNull(ro.announcedRoot, 'roots.announcedRoot');
  h.roots.mismatches = r.int(ro.mismatches, 'roots.mismatches');
  h.roots.previousRoot = r.strOrNull(ro.previousRoot, 'roots.previousRoot');
  h.roots.previousUntilNs = r.ns(ro.previousUntilNs, 'roots.previousUntilNs');
  h.roots.announcedAtNs = r.ns(ro.announcedAtNs, 'roots.announcedAtNs');
  h.roots.announcer = r.str(ro.announcer, 'roots.announcer');
  const si = r.obj(o.silence, 'silence');
  h.silence.lastNs = r.nsOrNull(si.lastNs, 'silence.lastNs');
  h.silence.reported = r.bool(si.reported, 'silence.reported');
  h.keysExpireMs = o.keysExpireMs === null ? null : r.int(o.keysExpireMs, 'keysExpireMs');
  r.arr(o.handedTo, 'handedTo').forEach((x, i) => {
    h.handedTo.push(r.str(x, `handedTo[${i}]`));
  });
  // Absent in a state written before the fleet status: the host's health starts afresh.
  if (o.health !== undefined) restoreHealth(r, h.health, o.health);
}

function healthSnapshot(h: HostHealth): Json {
  const s = h.summary;
  return {
    label: h.label,
    deploy: h.deploy,
    summary:
      s === null
        ? null
        : {
            tNs: s.tNs.toString(),
            added: s.added,
            removed: s.removed,
            changed: s.changed,
            errors: s.errors,
            bySeverity: s.bySeverity,
          },
    openFindings: h.openFindings,
    openBySeverity: h.openBySeverity,
    problemCounts: [...(h.problemCounts ?? [])],
    recent: h.recent.map((p) => ({ ...p })),
  };
}

function readSeverities(r: Reader, v: Json, path: string): Record<Severity, number> | null {
  if (v === null || v === undefined) return null;
  const b = r.obj(v, path);
  const out = { low: 0, medium: 0, high: 0, critical: 0 };
  for (const k of SEVERITIES) out[k] = r.int(b[k], `${path}.${k}`);
  return out;
}

function readSummary(r: Reader, v: Json): SummaryHealth | null {
  if (v === null) return null;
  const o = r.obj(v, 'health.summary');
  const bySeverity = readSeverities(r, o.bySeverity, 'health.summary.bySeverity');
  return {
    tNs: r.ns(o.tNs, 'health.summary.tNs'),
    added: r.int(o.added, 'health.summary.added'),
    removed: r.int(o.removed, 'health.summary.removed'),
    changed: r.int(o.changed, 'health.summary.changed'),
    errors: r.int(o.errors, 'health.summary.errors'),
    bySeverity,
  };
}

function restoreHealth(r: Reader, h: HostHealth, v: Json): void {
  const o = r.obj(v, 'health');
  h.label = r.strOrNull(o.label, 'health.label');
  h.deploy = o.deploy === undefined ? null : r.strOrNull(o.deploy, 'health.deploy');
  h.summary = readSummary(r, o.summary);
  h.openFindings = o.openFindings === null ? null : r.int(o.openFindings, 'health.openFindings');
  h.openBySeverity = readSeverities(r, o.openBySeverity, 'health.openBySeverity');
  // Bounded: one entry per problem kind at most.
  const counts = r.arr(o.problemCounts, 'health.problemCounts').slice(0, PROBLEM_KINDS.length);
  counts.forEach((x, i) => {
    const pair = r.arr(x, `health.problemCounts[${i}]`);
    h.problemCounts ??= new Map();
    h.problemCounts.set(
      r.str(pair[0], `health.problemCounts[${i}][0]`),
      r.int(pair[1], `health.problemCounts[${i}][1]`),
    );
  });
  h.recent = r
    .arr(o.recent, 'health.recent')
    .slice(-RECENT_PROBLEMS)
    .map((x, i) => {
      const p = r.obj(x, `health.recent[${i}]`);
      return {
        kind: r.str(p.kind, `health.recent[${i}].kind`),
        atMs: r.int(p.atMs, `health.recent[${i}].atMs`),
        detail: r.str(p.detail, `health.recent[${i}].detail`),
      };
    });
}

/** What `fim fleet status` reads of one host's saved state: checked like a restore, nothing else. */
export interface HostView {
  /** Newest verified message time (not future-dated), ns. */
  lastNs: bigint | null;
  /** The newest daemon session, if any. */
  daemon: {
    sid: string;
    stopped: boolean;
    lastNs: bigint;
    lastHeartbeatNs: bigint | null;
  } | null;
  /** Messages missing in the sessions held (open gaps). */
  missing: number;
  pauses: number;
  announcedRoot: string | null;
  rootMismatches: number;
  /** The baseline label last announced (a `baseline` or `accept`), null when none was. */
  label: string | null;
  /** The deploy digest announced with it (equal on hosts with the same deploy), null when none was. */
  deploy: string | null;
  summary: SummaryHealth | null;
  /** Open findings, as the newest heartbeat counted them, and by severity where it said. */
  openFindings: number | null;
  openBySeverity: Record<Severity, number> | null;
  problemCounts: Record<string, number>;
  recent: RecentProblem[];
}

/** Reads a saved host state (`hostSnapshot`'s JSON from the state file) for the fleet status. */
export function readHostView(v: Json, where: string): HostView {
  const r = new Reader(where);
  const o = r.obj(v, 'state');
  if (o.v !== SNAPSHOT_VERSION)
    throw new SnapshotError(`${where}: state version ${String(o.v)} is not ${SNAPSHOT_VERSION}`);
  const s = r.obj(o.sessions, 'sessions');
  const list = r.arr(s.list, 'sessions.list').map((x, i) => readSession(r, x, `sessions.list[${i}]`));
  const daemonSid = r.strOrNull(s.daemon, 'sessions.daemon');
  const d = daemonSid === null ? undefined : list.find((x) => x.sid === daemonSid);
  const ro = r.obj(o.roots, 'roots');
  const si = r.obj(o.silence, 'silence');
  const health = new HostHealth();
  if (o.health !== undefined) restoreHealth(r, health, o.health);
  return {
    lastNs: r.nsOrNull(si.lastNs, 'silence.lastNs'),
    daemon: d
      ? { sid: d.sid, stopped: d.stopped, lastNs: d.lastNs, lastHeartbeatNs: d.lastHeartbeatNs }
      : null,
    missing: list.reduce((n, x) => n + x.seq.missingCount(), 0),
    pauses: r.int(s.pauses, 'sessions.pauses'),
    announcedRoot: r.strOrNull(ro.announcedRoot, 'roots.announcedRoot'),
    rootMismatches: r.int(ro.mismatches, 'roots.mismatches'),
    label: health.label,
    deploy: health.deploy,
    summary: health.summary,
    openFindings: health.openFindings,
    openBySeverity: health.openBySeverity,
    problemCounts: Object.fromEntries(health.problemCounts ?? []),
    recent: health.recent,
  };
}
