/**
 * What the fleet status needs of one host beyond the checks (`fim fleet status`): the baseline
 * label and deploy digest its newest signed `baseline` or `accept` announced, the findings of its newest signed check
 * summary by severity, the open findings its newest heartbeat counted, and the problems found for
 * it (counts by kind and the most recent few, with the verifier's clock). It is fed only what the
 * verifier already authenticated and judged, and it must not judge anything itself. Memory is
 * bounded: RECENT_PROBLEMS problems kept, each detail cut to DETAIL_CHARS.
 */
import { SEVERITY_PARAM } from '../alert/sd.js';
import { SEVERITIES, type Severity } from '../types.js';
import { detach } from './detach.js';
import type { Problem } from './problems.js';

/** Problems kept per host, newest last. */
export const RECENT_PROBLEMS = 10;
/** A kept problem's detail is cut to this many characters. */
export const DETAIL_CHARS = 240;
const COUNT_RE = /^\d{1,12}$/;
const DIGEST_RE = /^[0-9a-f]{64}$/;
const LABEL_EVENTS: ReadonlySet<string> = new Set(['baseline', 'accept']);

export interface SummaryHealth {
  /** The summary's signed time, ns since the epoch. */
  tNs: bigint;
  added: number;
  removed: number;
  changed: number;
  errors: number;
  /** Null: a sender from before summaries (the daemon's full check too) carried severities. */
  bySeverity: Record<Severity, number> | null;
}

export interface RecentProblem {
  kind: string;
  /** The verifier's clock when it was found (ms). */
  atMs: number;
  detail: string;
}

export class HostHealth {
  // Read and restored by snapshot.ts (verify-log --state) only.
  /** @internal */ label: string | null = null;
  /** The deploy digest announced with the label (store/deploy-digest.ts); null from older senders. */
  /** @internal */ deploy: string | null = null;
  /** @internal */ summary: SummaryHealth | null = null;
  /** @internal */ openFindings: number | null = null;
  /** The heartbeat's open findings by severity; null when it did not say. */
  /** @internal */ openBySeverity: Record<Severity, number> | null = null;
  /** Made on the first problem: most hosts of a fleet have none. */
  /** @internal */ problemCounts: Map<string, number> | undefined;
  /** @internal */ recent: RecentProblem[] = [];

  /** An authenticated, counted message (not a duplicate) of event `ev` with parameters `params`. */
  observe(ev: string, params: ReadonlyMap<string, string>, tNs: bigint): void {
    if (LABEL_EVENTS.has(ev)) {
      const label = params.get('label');
      this.label = label === undefined ? null : detach(label);
      const deploy = params.get('deploy') ?? '';
      this.deploy = DIGEST_RE.test(deploy) ? detach(deploy) : null;
    }
    if (ev === 'heartbeat') {
      const open = count(params.get('open'));
      if (open !== null) {
        this.openFindings = open;
        this.openBySeverity = severities(params);
      }
    }
    if (ev === 'summary' && (this.summary === null || tNs >= this.summary.tNs)) {
      this.summary = {
        tNs,
        added: count(params.get('added')) ?? 0,
        removed: count(params.get('removed')) ?? 0,
        changed: count(params.get('changed')) ?? 0,
        errors: count(params.get('errors')) ?? 0,
        bySeverity: severities(params),
      };
    }
  }

  /** A problem the verifier found for this host (streamed gap warnings excluded: the open gaps count). */
  problem(p: Problem, nowMs: number): void {
    if (p.kind === 'gap') return;
    this.problemCounts ??= new Map();
    this.problemCounts.set(p.kind, (this.problemCounts.get(p.kind) ?? 0) + 1);
    this.recent.push({ kind: p.kind, atMs: nowMs, detail: detach(p.detail.slice(0, DETAIL_CHARS)) });
    if (this.recent.length > RECENT_PROBLEMS) this.recent.splice(0, this.recent.length - RECENT_PROBLEMS);
  }
}

/** The four severity counts of a summary or heartbeat; null unless all four are there. */
function severities(params: ReadonlyMap<string, string>): Record<Severity, number> | null {
  const sev = { low: 0, medium: 0, high: 0, critical: 0 };
  for (const k of SEVERITIES) {
    const n = count(params.get(SEVERITY_PARAM[k]));
    if (n === null) return null;
    sev[k] = n;
  }
  return sev;
}

function count(v: string | undefined): number | null {
  return v !== undefined && COUNT_RE.test(v) ? Number(v) : null;
}
