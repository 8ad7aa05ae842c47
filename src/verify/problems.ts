/**
 * What verify-log reports: the Problem type and its kinds, the report's data (VerifyReport, the
 * JSON form as it is printed, and what report.ts turns into text), and the ProblemLog that
 * collects problems in input order within a bound. It does not decide what is a problem (the
 * modules that find them hand them in) and it never prints.
 */
import { detach } from './detach.js';

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
  'future-dated',
  'replay',
  'fork',
  'missing-session',
  'unended-session',
  'chain-reset',
  'pause',
  'heartbeat-gap',
  'retired-key',
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export interface Problem {
  kind: ProblemKind;
  /** 1-based line number in the input, when the problem is about one line. */
  line?: number;
  host?: string;
  /**
   * For a line with no verified host (no fim structured data left, or none parsed): the host name
   * its syslog header claims, so the operator knows where to look. Anyone can claim any name.
   */
  headerHost?: string;
  sid?: string;
  seq?: number;
  detail: string;
}

/** Where a problem about one authenticated message was found: its line, session and seq. */
export interface MessageAt {
  readonly line: number;
  readonly sid: string;
  readonly seq: number;
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
  /** 'watch' (the daemon), a one-shot command's name, or null when its start was not seen. */
  kind: string | null;
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
  /** Daemon sessions after the first one: each is a restart of the daemon. */
  restarts: number;
  uncleanRestarts: number;
  /** New sessions refused as replays of old ones. */
  replays: number;
  /** Pauses the daemon reported. */
  pauses: number;
  /** Key sets the host handed over to (fingerprints), by signed handover messages. */
  handovers: string[];
  /** When the host's keys end, as its latest heartbeat says; null when no heartbeat said. */
  keysExpire: string | null;
  /** The keys end within KEYS_EXPIRY_WARNING_MS of the verifier's clock (a warning, not a problem). */
  keysExpiring: boolean;
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
  /** Present when the run was stopped before its input ended (verify-log on standard input, SIGTERM). */
  interrupted?: true;
}

/** The report keeps this many problems; the rest are counted in `problemsOmitted`. */
export const MAX_PROBLEMS = 1000;

/**
 * Problems in input order, the first MAX_PROBLEMS kept. Gaps streamed while reading go to the
 * caller only: the gaps that count are the ones still open at the end (`final`), so a gap warned
 * about early and filled later by a late datagram is not a problem of the report.
 */
export class ProblemLog {
  private readonly kept: Problem[] = [];
  private count = 0;
  private omitted = 0;

  /** Hands `p` to `out` (what the current line revealed) and, unless it is a gap, to the report. */
  record(p: Problem, out: Problem[]): void {
    out.push(p);
    if (p.kind === 'gap') return;
    this.count++;
    if (this.kept.length < MAX_PROBLEMS) this.kept.push(detachProblem(p));
    else this.omitted++;
  }

  /** The report's problems: those recorded, then `gaps` (the final ones), within the bound. */
  final(gaps: readonly Problem[]): Pick<VerifyReport, 'problems' | 'problemCount' | 'problemsOmitted'> {
    const problems = this.kept.slice();
    let omitted = this.omitted;
    for (const g of gaps) {
      if (problems.length < MAX_PROBLEMS) problems.push(g);
      else omitted++;
    }
    return { problems, problemCount: this.count + gaps.length, problemsOmitted: omitted };
  }
}

/** A problem kept for the report: its texts (views into the line, detach.ts) copied. */
function detachProblem(p: Problem): Problem {
  const out: Problem = { ...p, detail: detach(p.detail) };
  if (p.host !== undefined) out.host = detach(p.host);
  if (p.headerHost !== undefined) out.headerHost = detach(p.headerHost);
  if (p.sid !== undefined) out.sid = detach(p.sid);
  return out;
}

/** True when the report shows anything wrong: verify-log exits non-zero. */
export function problemsFound(report: VerifyReport): boolean {
  return report.problemCount > 0;
}

/** A message time (ns since the epoch) for a person; the raw number when it is no valid date. */
export function nsToIso(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ns) : d.toISOString();
}

/** Milliseconds of a message time, as the clocks compare them. */
export function nsToMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}
