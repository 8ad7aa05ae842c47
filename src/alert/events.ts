/**
 * The events an alert can carry, as the library hands them to the alerter. Paths stay bytes here;
 * the formatter turns them into display form. Hashes (baseline root, policy hash) are hex strings.
 */
import { whoText } from '../display.js';
import type { Finding, FindingKind, Severity } from '../types.js';

export interface FindingEvent {
  type: 'finding';
  kind: FindingKind;
  path: Uint8Array;
  rule: string;
  severity: Severity;
  /** Names of the changed attributes (empty for added or removed). */
  attributes: readonly string[];
  /** Id of the full finding in the local journal; the message names it, so a cut message is recoverable. */
  journalId: string | number;
  /**
   * The file's SHA-256 (hex) where its rule keeps it (`hashes: [blake3, sha256]`), before and after:
   * what threat-intelligence feeds and EDR tools look a file up by. null on the side with no file.
   */
  sha256?: { old: string | null; new: string | null };
  /**
   * What a manifest says (src/explain/): `explained strength package version` or
   * `unexplained strength package version`; the severity above is already the lowered one.
   */
  explanation?: string;
  /** The writing process (display.ts `whoText`), where the daemon's watcher could tell: cut like a path. */
  who?: string;
}

/** What the daemon reports in each heartbeat, so the log server sees a blind or lagging host. */
export interface HeartbeatStatus {
  watchedDirs: number;
  /** Directories the policy covers that could not be watched (scanned periodically instead). */
  unwatchedDirs: number;
  files: number;
  dirty: number;
  openFindings: number;
  /** The open findings by their rule's severity (left out past a bound). */
  openBySeverity?: Readonly<Record<Severity, number>>;
  /** Time of the last full check, ns since the epoch; null before the first. */
  lastFullCheckNs: bigint | null;
  /** The watcher backend and why it was chosen, as in the start event. */
  watcher?: string;
}

export interface Counts {
  scanned: number;
  added: number;
  removed: number;
  changed: number;
  errors: number;
}

export type AlertEvent =
  | FindingEvent
  /**
   * A session started: which baseline and policy it enforces (null and '-' when a one-shot command
   * does not know them). The alerter fills in the session's kind and its link to the predecessor.
   */
  | {
      type: 'start';
      baselineRoot: string | null;
      policyHash: string;
      kind?: string;
      prev?: ChainLink | null;
      /** The daemon's watcher backend and why it was chosen (`fanotify (CAP_SYS_ADMIN and Linux 6.18)`). */
      watcher?: string;
    }
  /** The session ends; the alerter fills in `count`, the number of messages of the session, this one included. */
  | { type: 'stop'; reason: string; count?: number }
  /** Alive; `keysExpireMs` is when the host's keys end (ms since the epoch), so the log server can warn. */
  | { type: 'heartbeat'; baselineRoot: string | null; status?: HeartbeatStatus; keysExpireMs?: number }
  /**
   * `fim keygen --rotate`: the host hands over to a new key set. Signed by the current epoch key
   * of the old set, it names the new master public key and its schedule, so a log server enrolled
   * with the old key follows the rotation (and treats the old set as retired from then on).
   */
  | {
      type: 'handover';
      master: string;
      startMs: number;
      epochMs: number;
      epochs: number;
      fingerprint: string;
    }
  /**
   * The daemon's monotonic clock jumped far past a timer tick: it was stopped (SIGSTOP), frozen
   * with its VM, or starved. Nothing was watched for about `pausedMs`.
   */
  | { type: 'pause'; pausedMs: number; expectedMs: number }
  /**
   * A deploy's storm in one message: `explained` findings of one scan, each journaled (ids first
   * to last), whose new content one signed deploy manifest lists; `unexplained` more under the same
   * deploy that it does not explain, which are alerted one by one as always.
   */
  | {
      type: 'explained';
      manifest: Uint8Array;
      package: string;
      version: string | null;
      explained: number;
      unexplained: number;
      firstJournalId: string | number;
      lastJournalId: string | number;
    }
  /** End of a check run. */
  | {
      type: 'summary';
      baselineRoot: string | null;
      counts: Counts;
      runId?: string | number;
      /** The run's findings by severity (the log server's fleet status shows them per host). */
      bySeverity?: Readonly<Record<Severity, number>>;
    }
  /** A new baseline was made: its root becomes the one the log server expects. */
  | {
      type: 'baseline';
      root: string;
      label?: string;
      baselineId?: string | number;
      /** The deploy digest (store/deploy-digest.ts): equal on hosts with the same deploy. */
      deploy?: string;
    }
  /** Reviewed changes were accepted into the baseline: a new root. */
  | { type: 'accept'; root: string; accepted: number; label?: string; deploy?: string }
  | { type: 'error'; code: string; message: string; path?: Uint8Array }
  /**
   * The daemon reloaded its configuration and policy (SIGHUP): the policy hashes before and after
   * and what changed in coverage. `critical` when it narrowed a critical rule or fim's own files.
   */
  | {
      type: 'reload';
      oldPolicy: string;
      newPolicy: string;
      /** BLAKE3 of the configuration file's bytes before and after ("none" without one). */
      oldConfig: string;
      newConfig: string;
      critical: boolean;
      changes: string;
    };

/**
 * The last message of the session before this one, as the host's database remembers it: the
 * session id, its last sequence number and the digest of that message (messageDigest in sd.ts).
 */
export interface ChainLink {
  sid: string;
  seq: number;
  digest: string;
}

/** Sent by the alerter itself when pacing held messages back. */
export interface FloodEvent {
  type: 'flood';
  suppressed: number;
  findings: number;
  others: number;
  /** Journal ids of the first and last suppressed findings, when known. */
  firstJournalId?: string | number;
  lastJournalId?: string | number;
  sinceNs: bigint;
}

export type WireEvent = AlertEvent | FloodEvent;

export const EVENT_TYPES = [
  'finding',
  'start',
  'stop',
  'heartbeat',
  'summary',
  'baseline',
  'accept',
  'error',
  'flood',
  'reload',
  'pause',
  'handover',
  'explained',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The alert for one finding of compare. */
export function findingEvent(finding: Finding, journalId: string | number): FindingEvent {
  return {
    type: 'finding',
    kind: finding.kind,
    path: finding.path,
    rule: finding.rule,
    severity: finding.severity,
    attributes: finding.changes.map((c) => c.attribute),
    journalId,
    ...sha256Of(finding),
    ...(finding.explanation ? { explanation: explanationWords(finding) } : {}),
    ...(finding.who ? { who: whoText(finding.who) } : {}),
  };
}

function explanationWords(f: Finding): string {
  const e = f.explanation!;
  const verdict = e.verdict === 'matches' ? 'explained' : `unexplained(${e.verdict})`;
  return `${verdict} ${e.strength} ${e.package}${e.version ? ` ${e.version}` : ''}`;
}

function sha256Of(f: Finding): Pick<FindingEvent, 'sha256'> {
  const mine = f.record.sha256?.toString('hex') ?? null;
  if (mine === null) return {};
  if (f.kind === 'added') return { sha256: { old: null, new: mine } };
  if (f.kind === 'removed') return { sha256: { old: mine, new: null } };
  const change = f.changes.find((c) => c.attribute === 'sha256');
  return { sha256: { old: typeof change?.old === 'string' ? change.old : mine, new: mine } };
}
