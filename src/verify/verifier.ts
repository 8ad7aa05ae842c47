/**
 * The verify-log engine. Fed one stored line at a time (a file, or rsyslog's omprog on stdin), it
 * checks each fim message on its own (certificate of the epoch key by the enrolled master key,
 * signature over the canonical form, message time inside the signing epoch), then follows each
 * host's sessions: duplicates and replays, gaps with the exact missing numbers, restarts, baseline
 * roots that differ from the last announced one, and silence. Memory is bounded per host (see
 * sequence.ts and the caps below); it never throws on input, whatever the bytes.
 *
 * Only fully verified messages move the state (sequence, roots, last time): a forged message can
 * add a problem, never hide one.
 */
import { canonicalBytes, SD_ID_EVENT, SD_ID_SIG, WIRE_VERSION } from '../alert/sd.js';
import { decodeBase64Strict, ED25519_KEY_BYTES, ED25519_SIG_BYTES, verifyRaw } from '../keys/ed25519.js';
import { checkCertificate, type EnrolledKey, epochBounds } from '../keys/material.js';
import { parseSyslogLine, type SyslogMessage } from './parse.js';
import { formatIntervals, type Interval, SequenceTracker } from './sequence.js';

export const DEFAULT_SKEW_MS = 120_000;
export const DEFAULT_MAX_SILENCE_MS = 180_000;
/** Streamed gap warnings wait until the sender is this many messages past the gap (UDP reorders). */
export const REORDER_WINDOW = 32;
const MAX_PROBLEMS = 1000;
const MAX_SESSIONS_PER_HOST = 64;
const MAX_CLOSED_SIDS = 1024;
const MAX_UNKNOWN_HOSTS = 100;
const MAX_ROOT_MISMATCHES = 20;

export const PROBLEM_KINDS = [
  'malformed',
  'unsigned',
  'unknown-host',
  'uncertified',
  'bad-signature',
  'epoch-mismatch',
  'duplicate',
  'gap',
  'unclean-restart',
  'baseline-mismatch',
  'silence',
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

/**
 * After a new root is announced, how long the previous root may still appear (from a running
 * daemon that has not yet picked the new baseline up; it polls every second).
 */
export const ROOT_HANDOVER_MS = 10_000;

export interface Problem {
  kind: ProblemKind;
  /** 1-based line number in the input, when the problem is about one line. */
  line?: number;
  host?: string;
  sid?: string;
  seq?: number;
  detail: string;
}

export interface VerifierOptions {
  pubkeys: readonly EnrolledKey[];
  /** Silence longer than this at the end (or at `tick`) is a problem; 0 disables. */
  maxSilenceMs?: number;
  /** Allowed clock skew between a message's time and its epoch. */
  skewMs?: number;
  /** Wall clock in milliseconds (tests). */
  now?: () => number;
}

export interface SessionReport {
  sid: string;
  firstSeq: number;
  lastSeq: number;
  verified: number;
  duplicates: number;
  late: number;
  missingCount: number;
  /** The exact missing sequence numbers, as `4-6,9`. */
  missing: string;
  started: boolean;
  stopped: boolean;
  firstTime: string;
  lastTime: string;
}

export interface HostReport {
  host: string;
  verified: number;
  unsigned: number;
  uncertified: number;
  badSignature: number;
  epochMismatch: number;
  duplicates: number;
  missingCount: number;
  sessions: SessionReport[];
  /** Sessions after the first one: each is a restart of the sender. */
  restarts: number;
  uncleanRestarts: number;
  announcedRoot: string | null;
  rootMismatches: number;
  lastMessage: string | null;
  silentForMs: number | null;
  silence: boolean;
}

export interface VerifyReport {
  version: 1;
  lines: number;
  malformed: number;
  /** Valid RFC 5424 lines that are not fim messages (other programs): counted, not a problem. */
  foreign: number;
  unknownHosts: Record<string, number>;
  hosts: HostReport[];
  problems: Problem[];
  problemCount: number;
  problemsOmitted: number;
}

interface Session {
  sid: string;
  seq: SequenceTracker;
  firstSeq: number;
  verified: number;
  started: boolean;
  stopped: boolean;
  firstNs: bigint;
  lastNs: bigint;
  /** Gaps ending at or below this were already streamed as problems. */
  reportedUpTo: number;
}

interface Host {
  key: EnrolledKey;
  sessions: Map<string, Session>;
  closedSids: Set<string>;
  current: Session | undefined;
  verified: number;
  unsigned: number;
  uncertified: number;
  badSignature: number;
  epochMismatch: number;
  restarts: number;
  uncleanRestarts: number;
  /** Folded counters of sessions evicted from `sessions`. */
  evicted: { duplicates: number; missing: number; count: number };
  /**
   * The root announced before the current one, accepted until `previousUntilNs`: a daemon learns of
   * an accepted baseline a moment after `fim accept` announced it, and its heartbeat in between
   * still names the old root honestly.
   */
  previousRoot: string | null;
  previousUntilNs: bigint;
  announcedRoot: string | null;
  rootMismatches: number;
  lastNs: bigint | null;
  silenceReported: boolean;
}

/** The one Ed25519 check a line needs: `sig` over `data` by the epoch key `pub`. */
export interface SignatureCheck {
  readonly pub: Buffer;
  readonly data: Buffer;
  readonly sig: Buffer;
}

/**
 * A line parsed without touching the verifier's state. `signature` is what `commit` needs
 * verified; a driver may check it on another thread and pass the verdict to `commit`.
 */
export interface PreparedLine {
  readonly signature: SignatureCheck | null;
  /** @internal */ readonly parsed: ParsedLine;
}

type ParsedLine =
  | { kind: 'blank' }
  | { kind: 'malformed'; detail: string; unsigned?: boolean }
  | { kind: 'foreign' }
  | { kind: 'fim'; m: SyslogMessage; ev: Map<string, string> };

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
}

function nsToIso(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ns) : d.toISOString();
}

function paramMap(params: Array<[string, string]>): Map<string, string> | null {
  const m = new Map<string, string>();
  for (const [k, v] of params) {
    // A repeated parameter would make "the" value ambiguous between signer and reader.
    if (m.has(k)) return null;
    m.set(k, v);
  }
  return m;
}

/** The signature a fim message carries, decoded, with the canonical bytes it must cover; null when absent or malformed. */
function signatureCheck(m: SyslogMessage, eventParams: Array<[string, string]>): SignatureCheck | null {
  const sigEl = m.sd.find((e) => e.id === SD_ID_SIG);
  const sig = sigEl ? paramMap(sigEl.params) : null;
  const epkText = sig?.get('epk');
  const sigText = sig?.get('sig');
  if (epkText === undefined || sigText === undefined) return null;
  const pub = decodeBase64Strict(epkText, ED25519_KEY_BYTES);
  const sigBuf = decodeBase64Strict(sigText, ED25519_SIG_BYTES);
  if (!pub || !sigBuf) return null;
  return { pub, data: canonicalBytes(eventParams, m.msg), sig: sigBuf };
}

const SEQ_RE = /^[1-9]\d{0,14}$/;
const NS_RE = /^\d{1,25}$/;
const EP_RE = /^(0|[1-9]\d{0,8})$/;
const SID_RE = /^[0-9a-f]{16}$/;

export function createVerifier(opts: VerifierOptions): Verifier {
  const skewMs = opts.skewMs ?? DEFAULT_SKEW_MS;
  const maxSilenceMs = opts.maxSilenceMs ?? DEFAULT_MAX_SILENCE_MS;
  const clock = opts.now ?? Date.now;
  const hosts = new Map<string, Host>();
  for (const key of opts.pubkeys) {
    hosts.set(key.host, {
      key,
      sessions: new Map(),
      closedSids: new Set(),
      current: undefined,
      verified: 0,
      unsigned: 0,
      uncertified: 0,
      badSignature: 0,
      epochMismatch: 0,
      restarts: 0,
      uncleanRestarts: 0,
      evicted: { duplicates: 0, missing: 0, count: 0 },
      announcedRoot: null,
      previousRoot: null,
      previousUntilNs: 0n,
      rootMismatches: 0,
      lastNs: null,
      silenceReported: false,
    });
  }
  const unknownHosts = new Map<string, number>();
  let unknownOther = 0;
  let lines = 0;
  let malformed = 0;
  let foreign = 0;
  const problems: Problem[] = [];
  let problemCount = 0;
  let problemsOmitted = 0;
  const certCache = new Map<string, boolean>();

  const record = (p: Problem, out: Problem[]): void => {
    out.push(p);
    if (p.kind === 'gap') return; // gaps are counted from the final state in finish()
    problemCount++;
    if (problems.length < MAX_PROBLEMS) problems.push(p);
    else problemsOmitted++;
  };

  const certified = (
    h: Host,
    ep: number,
    epk: Buffer,
    cert: Buffer,
    epkText: string,
    certText: string,
  ): boolean => {
    const id = `${h.key.host}|${ep}|${epkText}|${certText}`;
    const hit = certCache.get(id);
    if (hit !== undefined) return hit;
    const ok = checkCertificate(h.key, ep, epk, cert);
    if (certCache.size > 10_000) certCache.clear();
    certCache.set(id, ok);
    return ok;
  };

  const gapProblems = (host: string, s: Session, upTo: number, out: Problem[]): void => {
    const ivs: Interval[] = s.seq.missing.filter((iv) => iv.to > s.reportedUpTo && iv.to <= upTo);
    if (ivs.length > 0) {
      const n = ivs.reduce((a, iv) => a + iv.to - iv.from + 1, 0);
      record(
        { kind: 'gap', host, sid: s.sid, detail: `${n} message(s) missing: seq ${formatIntervals(ivs)}` },
        out,
      );
    }
    s.reportedUpTo = Math.max(s.reportedUpTo, upTo);
  };

  const sessionFor = (h: Host, sid: string, seq: number, tNs: bigint, lineNo: number, out: Problem[]) => {
    const existing = h.sessions.get(sid);
    if (existing) return existing;
    if (h.closedSids.has(sid)) return undefined;
    const prev = h.current;
    if (prev) {
      h.restarts++;
      if (prev.started && !prev.stopped) {
        h.uncleanRestarts++;
        record(
          {
            kind: 'unclean-restart',
            line: lineNo,
            host: h.key.host,
            sid,
            detail: `new session ${sid} while session ${prev.sid} (started ${nsToIso(prev.firstNs)}) never sent a stop event: crash or kill?`,
          },
          out,
        );
      }
    }
    const s: Session = {
      sid,
      seq: new SequenceTracker(),
      firstSeq: seq,
      verified: 0,
      started: false,
      stopped: false,
      firstNs: tNs,
      lastNs: tNs,
      reportedUpTo: 0,
    };
    h.sessions.set(sid, s);
    h.current = s;
    if (h.sessions.size > MAX_SESSIONS_PER_HOST) {
      const [oldSid, old] = h.sessions.entries().next().value as [string, Session];
      h.sessions.delete(oldSid);
      h.evicted.count++;
      h.evicted.duplicates += old.seq.duplicates;
      h.evicted.missing += old.seq.missingCount();
      h.closedSids.add(oldSid);
      if (h.closedSids.size > MAX_CLOSED_SIDS)
        h.closedSids.delete(h.closedSids.values().next().value as string);
    }
    return s;
  };

  const checkRoot = (
    h: Host,
    ev: string,
    root: string,
    s: Session,
    seq: number,
    lineNo: number,
    tNs: bigint,
    out: Problem[],
  ) => {
    if (ev === 'baseline' || ev === 'accept') {
      if (h.announcedRoot !== null && h.announcedRoot !== root) {
        h.previousRoot = h.announcedRoot;
        h.previousUntilNs = tNs + BigInt(ROOT_HANDOVER_MS) * 1_000_000n;
      }
      h.announcedRoot = root;
      return;
    }
    if (root === '-') return;
    if (root === h.previousRoot && tNs <= h.previousUntilNs) return;
    if (h.announcedRoot === null) {
      // The log began after the last announcement: the first root seen becomes the reference.
      h.announcedRoot = root;
      return;
    }
    if (root !== h.announcedRoot) {
      h.rootMismatches++;
      if (h.rootMismatches <= MAX_ROOT_MISMATCHES) {
        record(
          {
            kind: 'baseline-mismatch',
            line: lineNo,
            host: h.key.host,
            sid: s.sid,
            seq,
            detail: `${ev} reports baseline root ${root}, but the last announced root is ${h.announcedRoot}: the baseline was replaced without an announcement`,
          },
          out,
        );
      }
    }
  };

  const handleFim = (
    m: SyslogMessage,
    ev: Map<string, string>,
    check: SignatureCheck | null,
    sigOk: boolean | undefined,
    lineNo: number,
    out: Problem[],
  ): void => {
    const hostName = ev.get('host') ?? m.hostname;
    const h = hosts.get(hostName);
    if (!h) {
      if (unknownHosts.has(hostName) || unknownHosts.size < MAX_UNKNOWN_HOSTS) {
        unknownHosts.set(hostName, (unknownHosts.get(hostName) ?? 0) + 1);
      } else {
        unknownOther++;
      }
      record(
        {
          kind: 'unknown-host',
          line: lineNo,
          detail: `message claims host ${JSON.stringify(hostName.slice(0, 255))}, which has no enrolled public key`,
        },
        out,
      );
      return;
    }
    const host = h.key.host;
    const sigEl = m.sd.find((e) => e.id === SD_ID_SIG);
    const sig = sigEl ? paramMap(sigEl.params) : null;
    const epkText = sig?.get('epk');
    const certText = sig?.get('cert');
    const sigText = sig?.get('sig');
    if (epkText === undefined || certText === undefined || sigText === undefined) {
      h.unsigned++;
      record({ kind: 'unsigned', line: lineNo, host, detail: 'fim message without a signature' }, out);
      return;
    }
    const epText = ev.get('ep') ?? '';
    const epk = decodeBase64Strict(epkText, ED25519_KEY_BYTES);
    const cert = decodeBase64Strict(certText, ED25519_SIG_BYTES);
    const ep = EP_RE.test(epText) ? Number(epText) : -1;
    if (!epk || !cert || ep < 0 || !certified(h, ep, epk, cert, epkText, certText)) {
      h.uncertified++;
      record(
        {
          kind: 'uncertified',
          line: lineNo,
          host,
          detail: `the signing key is not certified by the enrolled master key for epoch ${epText.slice(0, 20)}`,
        },
        out,
      );
      return;
    }
    // `check` was extracted from this same message by prepare(): the same epk, the same bytes.
    const good = check?.pub.equals(epk) === true && (sigOk ?? verifyRaw(check.pub, check.data, check.sig));
    if (!good) {
      h.badSignature++;
      record(
        {
          kind: 'bad-signature',
          line: lineNo,
          host,
          detail: 'signature does not match: the message was forged or altered',
        },
        out,
      );
      return;
    }
    const sid = ev.get('sid') ?? '';
    const seqText = ev.get('seq') ?? '';
    const tText = ev.get('t') ?? '';
    const evName = ev.get('ev') ?? '';
    if (ev.get('v') !== WIRE_VERSION || !SID_RE.test(sid) || !SEQ_RE.test(seqText) || !NS_RE.test(tText)) {
      // Correctly signed yet not our layout: a bug or another version, never trusted.
      malformed++;
      record({ kind: 'malformed', line: lineNo, host, detail: 'signed message with an unknown layout' }, out);
      return;
    }
    const seq = Number(seqText);
    const tNs = BigInt(tText);
    const bounds = epochBounds(h.key, ep);
    const tMs = Number(tNs / 1_000_000n);
    if (tMs < bounds.startMs - skewMs || tMs >= bounds.endMs + skewMs) {
      h.epochMismatch++;
      record(
        {
          kind: 'epoch-mismatch',
          line: lineNo,
          host,
          sid,
          seq,
          detail: `message time ${nsToIso(tNs)} is outside epoch ${ep} (${new Date(bounds.startMs).toISOString()} .. ${new Date(bounds.endMs).toISOString()}, skew ${skewMs / 1000} s): back-dated, or signed with an old key`,
        },
        out,
      );
      return;
    }

    const s = sessionFor(h, sid, seq, tNs, lineNo, out);
    if (!s) {
      h.verified++;
      record(
        {
          kind: 'duplicate',
          line: lineNo,
          host,
          sid,
          seq,
          detail: `replay of a message from an old session ${sid}`,
        },
        out,
      );
      h.evicted.duplicates++;
      return;
    }
    const result = s.seq.observe(seq);
    h.verified++;
    if (result === 'duplicate') {
      record(
        { kind: 'duplicate', line: lineNo, host, sid, seq, detail: `duplicate or replayed seq ${seq}` },
        out,
      );
      return;
    }
    s.verified++;
    if (seq < s.firstSeq) s.firstSeq = seq;
    if (tNs > s.lastNs) s.lastNs = tNs;
    if (tNs < s.firstNs) s.firstNs = tNs;
    if (h.lastNs === null || tNs > h.lastNs) {
      h.lastNs = tNs;
      h.silenceReported = false;
    }
    if (evName === 'start') s.started = true;
    if (evName === 'stop') s.stopped = true;
    const root = ev.get('root');
    if (root !== undefined && ['start', 'heartbeat', 'summary', 'baseline', 'accept'].includes(evName)) {
      checkRoot(h, evName, root, s, seq, lineNo, tNs, out);
    }
    if (s.seq.highest - REORDER_WINDOW > s.reportedUpTo)
      gapProblems(host, s, s.seq.highest - REORDER_WINDOW, out);
  };

  const silenceProblems = (nowMs: number, out: Problem[]): void => {
    if (!(maxSilenceMs > 0)) return;
    for (const h of hosts.values()) {
      if (h.silenceReported) continue;
      const lastMs = h.lastNs === null ? null : Number(h.lastNs / 1_000_000n);
      if (lastMs !== null && nowMs - lastMs <= maxSilenceMs) continue;
      h.silenceReported = true;
      record(
        {
          kind: 'silence',
          host: h.key.host,
          detail:
            lastMs === null
              ? 'no verified message at all from this host'
              : `no verified message for ${Math.round((nowMs - lastMs) / 1000)} s (since ${new Date(lastMs).toISOString()}; limit ${maxSilenceMs / 1000} s): fim stopped, or its alerts are blocked`,
        },
        out,
      );
    }
  };

  const prepare = (line: string): PreparedLine => {
    if (line.trim() === '') return { signature: null, parsed: { kind: 'blank' } };
    let m: SyslogMessage | null;
    try {
      m = parseSyslogLine(line);
    } catch {
      m = null;
    }
    if (!m) return { signature: null, parsed: { kind: 'malformed', detail: 'not an RFC 5424 message' } };
    const eventEl = m.sd.find((e) => e.id === SD_ID_EVENT);
    if (!eventEl) {
      if (m.appName !== 'fim') return { signature: null, parsed: { kind: 'foreign' } };
      return {
        signature: null,
        parsed: {
          kind: 'malformed',
          unsigned: true,
          detail: 'message from app "fim" without fim structured data',
        },
      };
    }
    const ev = paramMap(eventEl.params);
    if (!ev) {
      return {
        signature: null,
        parsed: { kind: 'malformed', detail: 'repeated parameter in fim structured data' },
      };
    }
    let signature: SignatureCheck | null;
    try {
      signature = signatureCheck(m, eventEl.params);
    } catch {
      // Defensive, as in commit: no input may crash the verifier; no check means a bad signature.
      signature = null;
    }
    return { signature, parsed: { kind: 'fim', m, ev } };
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
          { kind: parsed.unsigned ? 'unsigned' : 'malformed', line: lineNo, detail: parsed.detail },
          out,
        );
        return out;
    }
    try {
      handleFim(parsed.m, parsed.ev, p.signature, sigOk, lineNo, out);
    } catch (err: unknown) {
      // Defensive: no input may crash the verifier; an internal surprise is a malformed line.
      malformed++;
      record({ kind: 'malformed', line: lineNo, detail: `could not check: ${String(err)}` }, out);
    }
    return out;
  };

  return {
    prepare,
    commit,
    feedLine: (line: string): Problem[] => commit(prepare(line)),

    tick(nowMs?: number): Problem[] {
      const out: Problem[] = [];
      silenceProblems(nowMs ?? clock(), out);
      return out;
    },

    finish(): VerifyReport {
      const nowMs = clock();
      silenceProblems(nowMs, []);
      const gapList: Problem[] = [];
      const hostReports: HostReport[] = [];
      for (const h of hosts.values()) {
        const sessions: SessionReport[] = [];
        let duplicates = h.evicted.duplicates;
        let missingCount = h.evicted.missing;
        for (const s of h.sessions.values()) {
          duplicates += s.seq.duplicates;
          const miss = s.seq.missingCount();
          missingCount += miss;
          if (s.seq.missing.length > 0 || s.seq.abandoned > 0) {
            const extra = s.seq.abandoned > 0 ? ` (and ${s.seq.abandoned} older ones)` : '';
            gapList.push({
              kind: 'gap',
              host: h.key.host,
              sid: s.sid,
              detail: `${miss} message(s) missing: seq ${formatIntervals(s.seq.missing)}${extra}`,
            });
          }
          sessions.push({
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
        const lastMs = h.lastNs === null ? null : Number(h.lastNs / 1_000_000n);
        hostReports.push({
          host: h.key.host,
          verified: h.verified,
          unsigned: h.unsigned,
          uncertified: h.uncertified,
          badSignature: h.badSignature,
          epochMismatch: h.epochMismatch,
          duplicates,
          missingCount,
          sessions,
          restarts: h.restarts,
          uncleanRestarts: h.uncleanRestarts,
          announcedRoot: h.announcedRoot,
          rootMismatches: h.rootMismatches,
          lastMessage: lastMs === null ? null : new Date(lastMs).toISOString(),
          silentForMs: lastMs === null ? null : Math.max(0, nowMs - lastMs),
          silence: h.silenceReported,
        });
      }
      const unknown: Record<string, number> = Object.fromEntries(unknownHosts);
      if (unknownOther > 0) unknown['(others)'] = unknownOther;
      const kept = problems.slice();
      let omitted = problemsOmitted;
      for (const g of gapList) {
        if (kept.length < MAX_PROBLEMS) kept.push(g);
        else omitted++;
      }
      return {
        version: 1,
        lines,
        malformed,
        foreign,
        unknownHosts: unknown,
        hosts: hostReports,
        problems: kept,
        problemCount: problemCount + gapList.length,
        problemsOmitted: omitted,
      };
    },
  };
}

/** True when the report shows anything wrong: verify-log exits non-zero. */
export function problemsFound(report: VerifyReport): boolean {
  return report.problemCount > 0;
}
