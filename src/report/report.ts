/**
 * Reporters: the JSON document of design.md and a text report for people. Both take the same
 * CheckReport; neither does I/O. Every path goes through the display form, so the text report
 * never prints a raw control character and JSON also carries the exact bytes as base64.
 */
import { recordDisplay } from '../attributes.js';
import { displayBytes, safeMessage } from '../display.js';
import { nsToIso } from '../ns-time.js';
import type { AttributeChange, Explanation, Finding, ScanError, Severity, Who } from '../types.js';
import { SEVERITIES } from '../types.js';

/** What a report says of the baseline it compared against (the store's BaselineMeta has more). */
export interface BaselineInfo {
  id: number;
  createdNs: bigint;
  label: string;
  root: Buffer;
}

/** A change as reported: the compared values, and reading aids beside them where they apply. */
export interface AttributeChangeJson extends AttributeChange {
  /** uid and gid changes: the user or group names of the two ids on this host. */
  old_name?: string;
  new_name?: string;
  /** A type change to a symlink: where it points now. */
  new_target?: string;
}

export interface FindingJson {
  id?: number;
  kind: Finding['kind'];
  path: string;
  path_b64: string;
  rule: string;
  severity: Severity;
  /** When the scan found it. */
  observed?: string;
  changes?: AttributeChangeJson[];
  /** `owner` and `group` (names) stand beside `uid` and `gid` where the names are known. */
  attributes?: Record<string, string | number | null>;
  /** The manifest whose listing the new content matches (src/explain/). */
  explained_by?: ExplanationJson;
  /** A manifest that lists this path with other bytes, or a deploy that covers it but does not list it. */
  unexplained?: ExplanationJson & { reason: string };
  /** The rule's severity, where a signed deploy manifest lowered this one by a step. */
  severity_before?: Severity;
  /** The writing process, where the daemon's watcher could tell (display form throughout). */
  who?: Who;
}

export interface ExplanationJson {
  source: Explanation['source'];
  strength: Explanation['strength'];
  manifest: string;
  package: string;
  version: string | null;
  digest: Explanation['digest'];
}

const UNEXPLAINED_REASON: Record<Exclude<Explanation['verdict'], 'matches'>, string> = {
  differs: 'the manifest lists other bytes for this path: changed after the install or deploy',
  unlisted: 'inside the deploy, but not a file it shipped',
};

function explanationJson(e: Explanation): Pick<FindingJson, 'explained_by' | 'unexplained'> {
  const j: ExplanationJson = {
    source: e.source,
    strength: e.strength,
    manifest: displayBytes(e.manifest),
    package: e.package,
    version: e.version,
    digest: e.digest,
  };
  return e.verdict === 'matches'
    ? { explained_by: j }
    : { unexplained: { ...j, reason: UNEXPLAINED_REASON[e.verdict] } };
}

/** One line for a person: "explained by pip-record requests 2.32.3 (…/RECORD)". */
export function explanationText(f: FindingJson): string | undefined {
  const e = f.explained_by ?? f.unexplained;
  if (!e) return undefined;
  const what = `${e.strength} ${e.package}${e.version ? ` ${e.version}` : ''}, ${e.manifest}${e.digest === 'md5' ? ' (MD5)' : ''}`;
  if (f.explained_by)
    return `explained by ${what}${f.severity_before ? `; severity lowered from ${f.severity_before}` : ''}`;
  return `NOT explained (${what}): ${f.unexplained?.reason}`;
}

/** Names of user and group ids (looked up by the caller: reporters do no I/O). */
export interface IdNames {
  user(uid: number): string | undefined;
  group(gid: number): string | undefined;
}

export interface ErrorJson {
  path: string;
  path_b64: string;
  code: string;
  message: string;
}

export interface CheckReport {
  host: string;
  /** When the run started and finished, in nanoseconds since the epoch. */
  startedNs: bigint;
  finishedNs: bigint;
  run: number | null;
  baseline: BaselineInfo;
  /** `fim diff`: the older baseline; `baseline` is then the newer one. */
  from?: BaselineInfo;
  summary: { scanned: number; added: number; removed: number; changed: number; errors: number };
  findings: FindingJson[];
  errors: ErrorJson[];
  notes: string[];
  exitCode: number;
}

export function findingToJson(f: Finding, id?: number, names?: IdNames): FindingJson {
  const out: FindingJson = {
    ...(id !== undefined ? { id } : {}),
    kind: f.kind,
    path: displayBytes(f.path),
    path_b64: f.path.toString('base64'),
    rule: f.rule,
    severity: f.severity,
    ...(f.observedNs !== undefined ? { observed: nsToIso(f.observedNs) } : {}),
    ...(f.explanation ? explanationJson(f.explanation) : {}),
    ...(f.severityBefore ? { severity_before: f.severityBefore } : {}),
    ...(f.who ? { who: f.who } : {}),
  };
  if (f.kind === 'changed') {
    out.changes = f.changes.map((c) => changeJson(c, f, names));
  } else {
    const a = recordDisplay(f.record);
    const owner = names?.user(f.record.uid);
    const group = names?.group(f.record.gid);
    out.attributes = {
      ...a,
      ...(owner !== undefined ? { owner } : {}),
      ...(group !== undefined ? { group } : {}),
    };
  }
  return out;
}

function changeJson(c: AttributeChange, f: Finding, names?: IdNames): AttributeChangeJson {
  const lookup = c.attribute === 'uid' ? names?.user : c.attribute === 'gid' ? names?.group : undefined;
  const out: AttributeChangeJson = { ...c };
  if (lookup && names) {
    const o = typeof c.old === 'number' ? lookup.call(names, c.old) : undefined;
    const n = typeof c.new === 'number' ? lookup.call(names, c.new) : undefined;
    if (o !== undefined) out.old_name = o;
    if (n !== undefined) out.new_name = n;
  }
  if (c.attribute === 'type' && f.record.type === 'symlink' && f.record.target !== null)
    out.new_target = displayBytes(f.record.target);
  return out;
}

export function errorToJson(e: ScanError): ErrorJson {
  return {
    path: displayBytes(e.path),
    path_b64: e.path.toString('base64'),
    code: e.code,
    message: safeMessage(e.message),
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
      started: nsToIso(r.startedNs),
      finished: nsToIso(r.finishedNs),
      ...(r.from ? { from: baselineJson(r.from) } : {}),
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
  if (r.from) {
    const f = baselineJson(r.from);
    push(
      `fim diff on ${r.host}: baseline ${f.id} "${f.label}" of ${f.created} -> ${b.id} "${b.label}" of ${b.created}`,
    );
    push(`baseline roots ${f.root} -> ${b.root}`);
  } else {
    push(`fim check on ${r.host}: baseline ${b.id} "${b.label}" of ${b.created}`);
    push(`baseline root ${b.root}`);
  }
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
        for (const c of f.changes) {
          const old = c.old_name !== undefined ? `${fmtValue(c.old)} (${c.old_name})` : fmtValue(c.old);
          const now = c.new_name !== undefined ? `${fmtValue(c.new)} (${c.new_name})` : fmtValue(c.new);
          const target = c.new_target !== undefined ? ` -> ${c.new_target}` : '';
          push(`           ${c.attribute.padEnd(w)}  ${old} -> ${now}${target}`, p);
        }
      } else if (f.attributes && f.kind === 'added') {
        const a = f.attributes;
        push(
          `           ${a.type} mode ${a.mode} uid ${a.uid}${a.owner !== undefined ? ` (${a.owner})` : ''} gid ${a.gid}${a.group !== undefined ? ` (${a.group})` : ''} size ${a.size}${a.target !== undefined ? ` -> ${a.target}` : ''}`,
          p,
        );
      }
      const why = explanationText(f);
      if (why) push(`           ${why}`, p);
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
