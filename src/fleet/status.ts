/**
 * The fleet status (`fim fleet status`): from each host's saved verification state (what the one
 * verifier of the log server keeps in its `--state` file, read by verify/snapshot.ts) and a clock,
 * each host's daemon state, baseline, findings and problems, why it needs attention, and drift:
 * hosts that announced the same baseline label with different deploys (the deploy digest: roots
 * bind the host and the time, so no two hosts ever share one). Pure: it does no I/O, reads
 * no clock of its own and trusts only what the verifier verified.
 */

import { SEVERITIES, type Severity } from '../types.js';
import type { HostView, RecentProblem } from '../verify/index.js';

/**
 * - `running`: the newest daemon session is open and its last heartbeat is within the limit;
 * - `frozen`: the host is still heard (other fim commands), but the open daemon session's
 *   heartbeat is older than the limit: the daemon hangs, was stopped with SIGSTOP, or is starved;
 * - `silent`: nothing verified from the host for longer than the limit;
 * - `stopped`: the newest daemon session sent its stop (nothing watches the host);
 * - `no-daemon`: no daemon session seen (a host on the daily timer only).
 */
export const DAEMON_STATES = ['running', 'frozen', 'silent', 'stopped', 'no-daemon'] as const;
export type DaemonState = (typeof DAEMON_STATES)[number];

export interface HostStatus {
  host: string;
  daemon: DaemonState;
  /** Newest verified message (ISO), and its age at `now` (ms). */
  lastMessage: string | null;
  lastMessageAgeMs: number | null;
  lastHeartbeat: string | null;
  heartbeatAgeMs: number | null;
  label: string | null;
  root: string | null;
  /** The deploy digest announced with the label: equal on hosts with the same deploy. */
  deploy: string | null;
  /**
   * Findings by severity: the open ones of the daemon's newest heartbeat, else those of the newest
   * signed check summary (null: neither said).
   */
  findings: Record<Severity, number> | null;
  /** The newest summary's changed + added + removed, and when it was signed. */
  summaryFindings: number | null;
  summaryTime: string | null;
  /** Open findings as the daemon's newest heartbeat counted them. */
  openFindings: number | null;
  /** Problems the verifier found for the host, by kind; messages still missing in its sessions. */
  problems: Record<string, number>;
  missingMessages: number;
  recentProblems: { kind: string; at: string; detail: string }[];
  /** Set when the host's deploy differs from the one most hosts with its label announced. */
  drift: string | null;
  /** When its problems were last acknowledged (`fim fleet ack`); problems counts are since then. */
  acknowledged: string | null;
  /** Why the host needs attention; empty when it does not. */
  attention: string[];
}

export interface DriftGroup {
  label: string;
  /** Each deploy digest announced with this label and the hosts on it, most hosts first. */
  deploys: { deploy: string; hosts: string[] }[];
}

export interface FleetStatus {
  version: 1;
  now: string;
  maxSilenceMs: number;
  hosts: HostStatus[];
  drift: DriftGroup[];
  /** Hosts that need attention. */
  attention: number;
}

const NS_PER_MS = 1_000_000n;

function iso(ns: bigint | null): string | null {
  return ns === null ? null : new Date(Number(ns / NS_PER_MS)).toISOString();
}

function ageMs(ns: bigint | null, nowMs: number): number | null {
  return ns === null ? null : Math.max(0, nowMs - Number(ns / NS_PER_MS));
}

function daemonState(v: HostView, nowMs: number, limitMs: number): DaemonState {
  const heard = ageMs(v.lastNs, nowMs);
  if (heard === null || heard > limitMs) return v.daemon === null ? 'no-daemon' : 'silent';
  if (v.daemon === null) return 'no-daemon';
  if (v.daemon.stopped) return 'stopped';
  const beat = ageMs(v.daemon.lastHeartbeatNs ?? v.daemon.lastNs, nowMs) ?? 0;
  return beat > limitMs ? 'frozen' : 'running';
}

function minutes(ms: number): string {
  return ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

/**
 * Hosts grouped by label; a label announced with more than one deploy digest is a drift group.
 * Roots cannot be compared across hosts (each binds its host and time, store/root.ts); the deploy
 * digest is what two hosts with the same deploy share (store/deploy-digest.ts).
 */
export function findDrift(views: ReadonlyMap<string, HostView>): DriftGroup[] {
  const byLabel = new Map<string, Map<string, string[]>>();
  for (const [host, v] of views) {
    if (v.label === null || v.deploy === null) continue;
    const deploys = byLabel.get(v.label) ?? new Map<string, string[]>();
    deploys.set(v.deploy, [...(deploys.get(v.deploy) ?? []), host]);
    byLabel.set(v.label, deploys);
  }
  const out: DriftGroup[] = [];
  for (const [label, deploys] of byLabel) {
    if (deploys.size < 2) continue;
    const list = [...deploys]
      .map(([deploy, hosts]) => ({ deploy, hosts: hosts.sort() }))
      .sort((a, b) => b.hosts.length - a.hosts.length || (a.deploy < b.deploy ? -1 : 1));
    out.push({ label, deploys: list });
  }
  return out.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

/** Why each host of a drift group is flagged: every deploy but a strict majority's. */
function driftOf(groups: readonly DriftGroup[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const g of groups) {
    const [first, second] = g.deploys;
    const majority = first && second && first.hosts.length > second.hosts.length ? first : undefined;
    const total = g.deploys.reduce((n, r) => n + r.hosts.length, 0);
    for (const r of g.deploys) {
      if (r === majority) continue;
      const peers = majority
        ? `${majority.hosts.length} of ${total} hosts labelled ${g.label} have deploy ${majority.deploy.slice(0, 16)}`
        : `hosts labelled ${g.label} announced ${g.deploys.length} different deploys`;
      for (const h of r.hosts) out.set(h, `deploy ${r.deploy.slice(0, 16)} differs from its peers: ${peers}`);
    }
  }
  return out;
}

function recent(p: RecentProblem): { kind: string; at: string; detail: string } {
  return { kind: p.kind, at: new Date(p.atMs).toISOString(), detail: p.detail };
}

/** What an operator acknowledged of a host (`fim fleet ack`): problems up to then are resolved. */
export interface Acknowledged {
  atMs: number;
  problems: Readonly<Record<string, number>>;
  missing: number;
}

/** The problems found since the acknowledgement: counts less what was acknowledged. */
function unresolved(
  v: HostView,
  ack: Acknowledged | undefined,
): Pick<HostView, 'problemCounts' | 'missing' | 'recent'> {
  if (!ack) return v;
  const problemCounts: Record<string, number> = {};
  for (const [k, n] of Object.entries(v.problemCounts)) {
    const left = n - (ack.problems[k] ?? 0);
    if (left > 0) problemCounts[k] = left;
  }
  return {
    problemCounts,
    missing: Math.max(0, v.missing - ack.missing),
    recent: v.recent.filter((p) => p.atMs > ack.atMs),
  };
}

/**
 * The status of every host of `views` at `nowMs`, with `maxSilenceMs` as the silence limit;
 * problems and missing messages count only beyond what `acks` acknowledged.
 */
export function fleetStatus(
  views: ReadonlyMap<string, HostView>,
  nowMs: number,
  maxSilenceMs: number,
  acks: ReadonlyMap<string, Acknowledged> = new Map(),
): FleetStatus {
  const drift = findDrift(views);
  const drifted = driftOf(drift);
  const hosts: HostStatus[] = [];
  for (const [host, all] of [...views].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const v = { ...all, ...unresolved(all, acks.get(host)) };
    const ack = acks.get(host);
    const daemon = daemonState(v, nowMs, maxSilenceMs);
    const s = v.summary;
    const attention: string[] = [];
    const heard = ageMs(v.lastNs, nowMs);
    if (daemon === 'silent' || (daemon === 'no-daemon' && (heard === null || heard > maxSilenceMs)))
      attention.push(heard === null ? 'never heard' : `silent for ${minutes(heard)}`);
    if (daemon === 'frozen') attention.push('the daemon sends no heartbeat, yet the host is heard');
    if (daemon === 'stopped') attention.push('the daemon was stopped: nothing watches the host');
    const driftWhy = drifted.get(host) ?? null;
    if (driftWhy !== null) attention.push(`drift: ${driftWhy}`);
    const summaryFindings = s === null ? null : s.added + s.removed + s.changed;
    const open = v.openFindings ?? summaryFindings ?? 0;
    if (open > 0) attention.push(`${open} open finding(s)`);
    const problemTotal = Object.values(v.problemCounts).reduce((n, c) => n + c, 0);
    if (problemTotal > 0)
      attention.push(
        `${problemTotal} problem(s): ${Object.entries(v.problemCounts)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`,
      );
    if (v.missing > 0) attention.push(`${v.missing} message(s) missing`);
    hosts.push({
      host,
      daemon,
      lastMessage: iso(v.lastNs),
      lastMessageAgeMs: heard,
      lastHeartbeat: iso(v.daemon?.lastHeartbeatNs ?? null),
      heartbeatAgeMs: ageMs(v.daemon?.lastHeartbeatNs ?? null, nowMs),
      label: v.label,
      root: v.announcedRoot,
      deploy: v.deploy,
      // A daemon's heartbeat counts what is open now; a one-shot check's summary what it found.
      findings: v.openFindings !== null ? v.openBySeverity : (s?.bySeverity ?? null),
      summaryFindings,
      summaryTime: iso(s?.tNs ?? null),
      openFindings: v.openFindings,
      problems: { ...v.problemCounts },
      missingMessages: v.missing,
      recentProblems: v.recent.map(recent),
      drift: driftWhy,
      acknowledged: ack ? new Date(ack.atMs).toISOString() : null,
      attention,
    });
  }
  return {
    version: 1,
    now: new Date(nowMs).toISOString(),
    maxSilenceMs,
    hosts,
    drift,
    attention: hosts.filter((h) => h.attention.length > 0).length,
  };
}

/** Findings by severity as `1 critical, 2 high`, most severe first; `-` when none are known. */
export function severityText(f: Record<Severity, number> | null): string {
  if (f === null) return '-';
  const parts = [...SEVERITIES]
    .reverse()
    .filter((k) => f[k] > 0)
    .map((k) => `${f[k]} ${k}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}
