/**
 * Reporters: the JSON document of design.md and a text report for people. Both take the same
 * CheckReport; neither does I/O. Every path goes through the display form, so the text report
 * never prints a raw control character and JSON also carries the exact bytes as base64.
 */
import { nsToIso, recordDisplay } from '../attributes.js';
import { displayBytes } from '../display.js';
import type { AttributeChange, Finding, ScanError, Severity } from '../types.js';
import { SEVERITIES } from '../types.js';

/** What a report says of the baseline it compared against (the store's BaselineMeta has more). */
export interface BaselineInfo {
  id: number;
  createdNs: bigint;
  label: string;
  root: Buffer;
}

export interface FindingJson {
  id?: number;
  kind: Finding['kind'];
  path: string;
  path_b64: string;
  rule: string;
  severity: Severity;
  changes?: AttributeChange[];
  attributes?: Record<string, string | number | null>;
}

export interface ErrorJson {
  path: string;
  path_b64: string;
  code: string;
  message: string;
}

export interface CheckReport {
  host: string;
  run: number | null;
  baseline: BaselineInfo;
  summary: { scanned: number; added: number; removed: number; changed: number; errors: number };
  findings: FindingJson[];
  errors: ErrorJson[];
  notes: string[];
  exitCode: number;
}

export function findingToJson(f: Finding, id?: number): FindingJson {
  const out: FindingJson = {
    ...(id !== undefined ? { id } : {}),
    kind: f.kind,
    path: displayBytes(f.path),
    path_b64: f.path.toString('base64'),
    rule: f.rule,
    severity: f.severity,
  };
  if (f.kind === 'changed') out.changes = f.changes;
  else out.attributes = recordDisplay(f.record);
  return out;
}

export function errorToJson(e: ScanError): ErrorJson {
  return {
    path: displayBytes(e.path),
    path_b64: e.path.toString('base64'),
    code: e.code,
    message: e.message,
  };
}

export function baselineJson(b: BaselineInfo) {
  return {
    id: b.id,
    created: nsToIso(b.createdNs).replace(/\.\d+Z$/, 'Z'),
    label: b.label,
    root: b.root.toString('hex'),
  };
}

export function checkToJson(r: CheckReport): string {
  return JSON.stringify(
    {
      version: 1,
      host: r.host,
      run: r.run,
      baseline: baselineJson(r.baseline),
      summary: r.summary,
      findings: r.findings,
      errors: r.errors,
      notes: r.notes,
    },
    null,
    2,
  );
}

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

export function severityAtLeast(s: Severity, min: Severity): boolean {
  return SEVERITY_RANK[s] >= SEVERITY_RANK[min];
}

function fmtValue(v: string | number | null): string {
  return v === null ? '-' : String(v);
}

/**
 * Syslog priority of a finding's severity, for journald (`journalctl -p err` shows high and
 * critical findings): critical → crit (2), high → err (3), medium → warning (4), low → notice (5).
 */
export const SEVERITY_PRIORITY: Readonly<Record<Severity, number>> = {
  critical: 2,
  high: 3,
  medium: 4,
  low: 5,
};
/** Priority of the report's other lines: info; scan errors: err, as an unchecked file may hide anything. */
const INFO = 6;
const ERR = 3;

export interface TextOptions {
  /** Prefix every line with `<N>`, its syslog priority, as journald reads a service's stdout. */
  priorities?: boolean;
}

export function checkToText(r: CheckReport, opts: TextOptions = {}): string {
  const lines: string[] = [];
  const pri: number[] = [];
  const push = (line: string, p = INFO) => {
    lines.push(line);
    pri.push(p);
  };
  const b = baselineJson(r.baseline);
  push(`fim check on ${r.host}: baseline ${b.id} "${b.label}" of ${b.created}`);
  push(`baseline root ${b.root}`);
  const groups = new Map<string, FindingJson[]>();
  for (const f of r.findings) {
    const k = `${f.severity}\0${f.rule}`;
    const g = groups.get(k) ?? [];
    g.push(f);
    groups.set(k, g);
  }
  const keys = [...groups.keys()].sort((x, y) => {
    const [sx, rx] = x.split('\0') as [Severity, string];
    const [sy, ry] = y.split('\0') as [Severity, string];
    return SEVERITY_RANK[sy] - SEVERITY_RANK[sx] || rx.localeCompare(ry);
  });
  for (const k of keys) {
    const [sev, rule] = k.split('\0') as [Severity, string];
    const g = groups.get(k)!;
    const p = SEVERITY_PRIORITY[sev];
    push('');
    push(`${sev.toUpperCase()}  rule ${rule}  (${g.length} finding${g.length === 1 ? '' : 's'})`, p);
    for (const f of g) {
      push(`  ${f.kind.padEnd(8)} ${f.path}`, p);
      if (f.changes) {
        const w = Math.max(...f.changes.map((c) => c.attribute.length));
        for (const c of f.changes)
          push(`           ${c.attribute.padEnd(w)}  ${fmtValue(c.old)} -> ${fmtValue(c.new)}`, p);
      } else if (f.attributes && f.kind === 'added') {
        const a = f.attributes;
        push(
          `           ${a.type} mode ${a.mode} uid ${a.uid} gid ${a.gid} size ${a.size}${a.target !== undefined ? ` -> ${a.target}` : ''}`,
          p,
        );
      }
    }
  }
  if (r.errors.length) {
    push('');
    push(`ERRORS  (${r.errors.length} could not be checked)`, ERR);
    for (const e of r.errors) push(`  ${e.code.padEnd(8)} ${e.path}: ${e.message}`, ERR);
  }
  for (const n of r.notes) push(`note: ${n}`, 5);
  const s = r.summary;
  push('');
  push(
    `summary: scanned ${s.scanned}, added ${s.added}, removed ${s.removed}, changed ${s.changed}, errors ${s.errors}${r.run !== null ? ` (run ${r.run})` : ''}`,
  );
  if (opts.priorities) return `${lines.map((l, i) => `<${pri[i]}>${l}`).join('\n')}\n`;
  return `${lines.join('\n')}\n`;
}

export { SEVERITIES };
