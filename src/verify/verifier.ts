/**
 * The verify-log engine. Fed one stored line at a time (a file, or rsyslog's omprog on stdin), it
 * composes the checks of each message and of each host, in this order: the line (line.ts), its
 * authenticity (auth.ts: seal, certificate, signature, epoch window), its session (sessions.ts:
 * sequence numbers, gaps, duplicates and replays, restarts), the baseline root it names (roots.ts)
 * and when the host was last heard (silence.ts); problems are collected and the report is
 * assembled from each module's part (problems.ts). It keeps no check of its own beyond the wire
 * layout and the line counts. Memory is bounded per host; it never throws on input, whatever the
 * bytes.
 *
 * Only fully verified messages move the state (sequence, roots, last time): a forged message can
 * add a problem, never hide one.
 */
import { messageDigest } from '../alert/sd.js';
import {
  type EnrolledKey,
  fingerprint,
  formatPublicKeyFile,
  PUBKEY_MAGIC,
  parsePublicKeyFile,
} from '../keys/index.js';
import { CertificateCache, DEFAULT_SKEW_MS, HostAuth, UnknownHosts } from './auth.js';
import { readClaim } from './chain.js';
import { HostHealth } from './health.js';
import { eventFields, type ParsedLine, type PreparedLine, prepareLine } from './line.js';
import { type HostReport, nsToMs, type Problem, ProblemLog, type VerifyReport } from './problems.js';
import { RootTracker } from './roots.js';
import { HostSessions } from './sessions.js';
import { DEFAULT_MAX_SILENCE_MS, SilenceWatch } from './silence.js';
import { type HostParts, hostSnapshot, restoreHost } from './snapshot.js';

/** verify-log reports hosts whose keys end within this (a warning in the report, not a problem). */
export const KEYS_EXPIRY_WARNING_MS = 30 * 24 * 3600 * 1000;
const MS_RE = /^\d{1,16}$/;
const PAUSE_RE = /^\d{1,15}$/;

export interface VerifierOptions {
  pubkeys: readonly EnrolledKey[];
  /** Silence longer than this at the end (or at `tick`) is a problem; 0 disables. */
  maxSilenceMs?: number;
  /** Allowed clock skew between a message's time and its epoch. */
  skewMs?: number;
  /** Wall clock in milliseconds (tests). */
  now?: () => number;
  /** What an earlier run left (verify-log --state): per-host snapshots and the final problems it reported. */
  state?: VerifierState;
  /** Number of the first line fed, minus one (a log read on from where an earlier run stopped). */
  linesBefore?: number;
}

/** A verifier's state between runs: per-host snapshots (snapshot.ts) and final problems already reported. */
export interface VerifierState {
  hosts: ReadonlyMap<string, unknown>;
  /** Keys (problemKey) of final problems (open gaps, sessions that never ended) already reported. */
  reported: ReadonlySet<string>;
}

/** Final problems remembered as reported, newest kept. */
const MAX_REPORTED_KEYS = 10_000;

/** What identifies a final problem across runs. */
export function problemKey(p: Problem): string {
  return `${p.kind}|${p.host ?? ''}|${p.sid ?? ''}|${p.detail}`;
}

export interface Verifier {
  /** Checks one stored line; returns the problems it revealed (empty when clean). Never throws. */
  feedLine(line: string): Problem[];
  /** Parses one line; pure (no state changes), so lines may be prepared ahead of `commit`. */
  prepare(line: string): PreparedLine;
  /**
   * Checks a prepared line in input order (the next line number). `sigOk` is the verdict of
   * `p.signature`, computed by the caller over exactly those bytes; when absent it is computed here.
   * Never throws.
   */
  commit(p: PreparedLine, sigOk?: boolean): Problem[];
  /** Silence check while streaming: problems for hosts silent longer than maxSilenceMs (once each). */
  tick(nowMs?: number): Problem[];
  /** The final report: remaining gaps and silence included. */
  finish(): VerifyReport;
  /** Enrol more keys while running (a `--keys` directory that changed). */
  addKeys(keys: readonly EnrolledKey[]): void;
  /**
   * The state to keep for the next run (after finish). `changedOnly`: only the hosts whose state
   * changed since the last export that asked so (a live verifier's periodic save of a big fleet).
   */
  exportState(opts?: { changedOnly?: boolean }): {
    hosts: Map<string, unknown>;
    reported: string[];
    handovers: [string, string][];
  };
  /**
   * As exportState, but each host's snapshot is made only as the iteration reaches it, so a save
   * holds one host's snapshot at a time (all of a 10,000-host fleet at once were ~20 MB of heap at
   * every save). Iterate it before the verifier is fed again.
   */
  stateSnapshots(opts?: { changedOnly?: boolean }): {
    hosts: Iterable<[string, unknown]>;
    reported: string[];
    handovers: [string, string][];
  };
}

/** Everything known about one enrolled host, one part per module (key expiry as the newest heartbeat says). */
type Host = HostParts;

type FimLine = Extract<ParsedLine, { kind: 'fim' }>;

export function createVerifier(opts: VerifierOptions): Verifier {
  const skewMs = opts.skewMs ?? DEFAULT_SKEW_MS;
  const maxSilenceMs = opts.maxSilenceMs ?? DEFAULT_MAX_SILENCE_MS;
  const clock = opts.now ?? Date.now;
  const certs = new CertificateCache();
  // One limits object for every host's sessions (a fleet verifier holds 10,000 of them).
  const sessionLimits = { skewMs, maxSilenceMs };
  const hosts = new Map<string, Host>();
  /**
   * Hosts whose state changed since the last `exportState({ changedOnly })`; a newly enrolled host
   * counts, so the state lists every enrolled host (one never heard from included) after a save.
   */
  const changed = new Set<string>();
  const enrol = (key: EnrolledKey): void => {
    const known = hosts.get(key.host);
    if (known) {
      known.auth.addKey(key);
      return;
    }
    changed.add(key.host);
    hosts.set(key.host, {
      auth: new HostAuth(key, certs, skewMs),
      sessions: new HostSessions(key.host, sessionLimits),
      roots: new RootTracker(key.host),
      silence: new SilenceWatch(key.host),
      health: new HostHealth(),
      keysExpireMs: null,
      handedTo: [],
    });
  };
  for (const key of opts.pubkeys) enrol(key);
  for (const [name, snap] of opts.state?.hosts ?? []) {
    const h = hosts.get(name);
    if (h) restoreHost(h, snap, `the saved state of host ${name}`);
  }
  const reported = new Set(opts.state?.reported ?? []);
  const unknownHosts = new UnknownHosts();
  const log = new ProblemLog();
  /** Every problem goes to the report's log and, when it names an enrolled host, to its health. */
  const record = (p: Problem, out: Problem[]): void => {
    log.record(p, out);
    const h = p.host !== undefined ? hosts.get(p.host) : undefined;
    if (h) {
      h.health.problem(p, clock());
      changed.add(h.auth.key.host);
    }
  };

  let lines = opts.linesBefore ?? 0;
  let malformed = 0;
  let foreign = 0;

  const handleFim = (line: FimLine, sigOk: boolean | undefined, lineNo: number, out: Problem[]): void => {
    const { m, ev } = line;
    const hostName = ev.get('host') ?? m.hostname;
    const h = hosts.get(hostName);
    if (!h) {
      const problem = unknownHosts.note(hostName, lineNo);
      record(m.hostname !== '-' ? { ...problem, headerHost: m.hostname } : problem, out);
      return;
    }
    changed.add(h.auth.key.host); // from here on, anything may move its state
    const verdict = h.auth.checkSeal(ev.get('ep') ?? '', line.seal, sigOk, lineNo);
    if (!verdict.ok) {
      record(verdict.problem, out);
      return;
    }
    const f = eventFields(ev);
    if (!f) {
      // Correctly signed yet not our layout: a bug or another version, never trusted.
      malformed++;
      const host = h.auth.key.host;
      record({ kind: 'malformed', line: lineNo, host, detail: 'signed message with an unknown layout' }, out);
      return;
    }
    const at = { line: lineNo, sid: f.sid, seq: f.seq };
    const late = h.auth.checkTime(verdict.ep, f.tNs, at, verdict.key);
    if (late) {
      record(late, out);
      return;
    }
    // Dated past the verifier's clock plus the skew: a problem, and never "heard": one future-dated
    // heartbeat would otherwise switch silence detection off for good (nor "latest", which would
    // make every honest new session look like a replay).
    const aheadMs = nsToMs(f.tNs) - clock();
    const future = aheadMs > skewMs;
    const check = line.seal?.check;
    const paused = ev.get('paused') ?? '';
    const seen = h.sessions.observe({
      ...at,
      tNs: f.tNs,
      ev: f.ev,
      future,
      ...(check ? { digest: messageDigest(check.data) } : {}),
      ...(f.ev === 'start'
        ? { claim: readClaim(ev), ...(ev.has('kind') ? { kind: ev.get('kind') ?? '' } : {}) }
        : {}),
      ...(f.ev === 'pause' && PAUSE_RE.test(paused) ? { pausedMs: Number(paused) } : {}),
    });
    for (const p of seen.problems) record(p, out);
    // A duplicate or replay moves nothing else: it could only make an old state look current.
    if (!seen.session) return;
    h.health.observe(f.ev, ev, f.tNs);
    if (f.ev === 'handover') handover(h, ev, verdict.key, f.tNs);
    const expires = ev.get('expires') ?? '';
    if (f.ev === 'heartbeat' && MS_RE.test(expires)) h.keysExpireMs = Number(expires);
    if (future) {
      record(
        {
          kind: 'future-dated',
          ...at,
          host: h.auth.key.host,
          detail: `dated ${new Date(nsToMs(f.tNs)).toISOString()}, ${Math.round(aheadMs / 1000)} s after the verifier's clock (skew ${skewMs / 1000} s): the host's clock is wrong, or the message was made to silence the silence check`,
        },
        out,
      );
    } else h.silence.heard(f.tNs);
    const mismatch = h.roots.observe(f.ev, ev.get('root'), f.tNs, at, seen.session.firstNs);
    if (mismatch) record(mismatch, out);
    for (const p of h.sessions.streamGaps(seen.session)) record(p, out);
  };

  /** Key sets the hosts handed over to, as enrolment texts (kept by --state). */
  const handovers: [string, string][] = [];
  /** A verified handover: the new key set is enrolled, and the one that signed it is retired. */
  const handover = (h: Host, ev: ReadonlyMap<string, string>, from: EnrolledKey, tNs: bigint): void => {
    const text = [
      PUBKEY_MAGIC,
      `host ${h.auth.key.host}`,
      `master ${ev.get('master') ?? ''}`,
      `start-ms ${ev.get('start') ?? ''}`,
      `epoch-ms ${ev.get('epochms') ?? ''}`,
      `epochs ${ev.get('epochs') ?? ''}`,
      '',
    ].join('\n');
    let next: EnrolledKey;
    try {
      next = parsePublicKeyFile(text, 'handover');
    } catch {
      return; // signed, yet not a key: nothing to follow (the sender's bug, never trusted)
    }
    h.auth.addKey(next);
    h.auth.retire(from, nsToMs(tNs));
    const fp = fingerprint(next.master);
    if (!h.handedTo.includes(fp)) h.handedTo.push(fp);
    handovers.push([h.auth.key.host, formatPublicKeyFile(next)]);
  };

  const silenceProblems = (nowMs: number, out: Problem[]): void => {
    for (const h of hosts.values()) {
      const p = h.silence.check(nowMs, maxSilenceMs);
      if (p) record(p, out);
    }
  };

  const commit = (p: PreparedLine, sigOk?: boolean): Problem[] => {
    const out: Problem[] = [];
    lines++;
    const lineNo = lines;
    const parsed = p.parsed;
    switch (parsed.kind) {
      case 'blank':
        return out;
      case 'foreign':
        foreign++;
        return out;
      case 'malformed':
        malformed++;
        record(
          {
            kind: parsed.unsigned ? 'unsigned' : 'malformed',
            line: lineNo,
            ...(parsed.headerHost !== undefined ? { headerHost: parsed.headerHost } : {}),
            detail: parsed.detail,
          },
          out,
        );
        return out;
    }
    try {
      handleFim(parsed, sigOk, lineNo, out);
    } catch (err: unknown) {
      // Defensive: no input may crash the verifier; an internal surprise is a malformed line.
      malformed++;
      const headerHost = parsed.m.hostname !== '-' ? { headerHost: parsed.m.hostname } : {};
      record(
        { kind: 'malformed', line: lineNo, ...headerHost, detail: `could not check: ${String(err)}` },
        out,
      );
    }
    return out;
  };

  /** A final problem an earlier run reported already (with --state) is not reported again. */
  const fresh = (p: Problem): boolean => {
    const key = problemKey(p);
    if (reported.has(key)) return false;
    reported.add(key);
    return true;
  };

  const hostReport = (h: Host, nowMs: number, gaps: Problem[]): HostReport => {
    const t = h.sessions.totals();
    for (const g of t.gaps) if (fresh(g)) gaps.push(g);
    // The key order is the JSON report's: keep it.
    return {
      host: h.auth.key.host,
      verified: h.sessions.verified,
      unsigned: h.auth.unsigned,
      uncertified: h.auth.uncertified,
      badSignature: h.auth.badSignature,
      epochMismatch: h.auth.epochMismatch,
      duplicates: t.duplicates,
      missingCount: t.missingCount,
      sessions: t.sessions,
      restarts: h.sessions.restarts,
      uncleanRestarts: h.sessions.uncleanRestarts,
      replays: h.sessions.replays,
      pauses: h.sessions.pauses,
      handovers: [...h.handedTo],
      keysExpire: h.keysExpireMs === null ? null : new Date(h.keysExpireMs).toISOString(),
      keysExpiring: h.keysExpireMs !== null && h.keysExpireMs - nowMs < KEYS_EXPIRY_WARNING_MS,
      announcedRoot: h.roots.announcedRoot,
      rootMismatches: h.roots.mismatches,
      ...h.silence.report(nowMs),
    };
  };

  const stateSnapshots: Verifier['stateSnapshots'] = (opts) => {
    const names = opts?.changedOnly ? [...changed] : [...hosts.keys()];
    if (opts?.changedOnly) changed.clear();
    function* each(): Generator<[string, unknown]> {
      for (const name of names) {
        const h = hosts.get(name);
        if (h) yield [name, hostSnapshot(h)];
      }
    }
    return { hosts: each(), reported: [...reported].slice(-MAX_REPORTED_KEYS), handovers: [...handovers] };
  };

  return {
    prepare: prepareLine,
    commit,
    feedLine: (line: string): Problem[] => commit(prepareLine(line)),

    tick(nowMs?: number): Problem[] {
      const out: Problem[] = [];
      silenceProblems(nowMs ?? clock(), out);
      return out;
    },

    finish(): VerifyReport {
      const nowMs = clock();
      silenceProblems(nowMs, []);
      for (const h of hosts.values()) for (const p of h.sessions.unended()) if (fresh(p)) record(p, []);
      const gaps: Problem[] = [];
      const hostReports = [...hosts.values()].map((h) => hostReport(h, nowMs, gaps));
      return {
        version: 1,
        lines,
        malformed,
        foreign,
        unknownHosts: unknownHosts.toRecord(),
        hosts: hostReports,
        ...log.final(gaps),
      };
    },

    addKeys(keys: readonly EnrolledKey[]): void {
      for (const k of keys) enrol(k);
    },

    exportState(opts) {
      const s = stateSnapshots(opts);
      return { ...s, hosts: new Map(s.hosts) };
    },

    stateSnapshots,
  };
}
