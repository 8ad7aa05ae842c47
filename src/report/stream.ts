/**
 * The streaming formats of `fim check`, one JSON document per line, written as each finding is
 * journaled, so memory stays flat however many findings there are:
 * - `ndjson`: `{"type":"finding", ...}` per finding (the JSON report's finding objects, with the
 *   host and run), then one `{"type":"summary", ...}` line; `jq 'select(.type=="finding")'`.
 * - `ecs`: one Elastic Common Schema document per finding (and per file that could not be
 *   checked), ready for a SIEM: `@timestamp`, `event.*`, `file.*`, `host.name`, `rule.name`, and
 *   fim's own fields under `fim.*` (the exact path bytes, the attribute changes, the journal ids).
 * Pure: no I/O here; every path in display form.
 */
import { recordDisplay } from '../attributes.js';
import { displayBytes } from '../display.js';
import { nsToIso } from '../ns-time.js';
import type { Finding, Severity } from '../types.js';
import {
  type BaselineInfo,
  baselineJson,
  type CheckReport,
  checkToJson,
  type ErrorJson,
  type FindingJson,
  type IdNames,
} from './report.js';

/** The ECS version whose field reference these documents follow. */
export const ECS_VERSION = '8.11.0';

export interface StreamContext {
  host: string;
  run: number;
  baseline: BaselineInfo;
}

export function ndjsonFinding(j: FindingJson, ctx: StreamContext): string {
  return JSON.stringify({
    type: 'finding',
    host: ctx.host,
    run: ctx.run,
    ...j,
  });
}

/** The last line of an ndjson stream: the report without its findings (they came before). */
export function ndjsonSummary(r: CheckReport): string {
  const doc = JSON.parse(checkToJson(r)) as Record<string, unknown>;
  delete doc['findings'];
  return JSON.stringify({ type: 'summary', ...doc, exit_code: r.exitCode });
}

const ECS_TYPE: Record<Finding['kind'], string> = {
  added: 'creation',
  removed: 'deletion',
  changed: 'change',
};
/** event.severity: a number, higher is more severe (ECS leaves the scale to the source). */
const ECS_SEVERITY: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 };

/** `file.*` from a record: ECS types (keyword ids and mode, long size, date times). */
function ecsFile(f: Finding, names?: IdNames): Record<string, unknown> {
  const r = f.record;
  const d = recordDisplay(r);
  const path = displayBytes(f.path);
  const slash = path.lastIndexOf('/');
  const owner = names?.user(r.uid);
  const group = names?.group(r.gid);
  return {
    path,
    name: path.slice(slash + 1),
    directory: slash <= 0 ? '/' : path.slice(0, slash),
    type: r.type,
    mode: String(d['mode']),
    uid: String(r.uid),
    gid: String(r.gid),
    ...(owner !== undefined ? { owner } : {}),
    ...(group !== undefined ? { group } : {}),
    ...(r.type === 'file' ? { size: Number(r.size) } : {}),
    inode: r.inode.toString(),
    device: r.dev.toString(),
    mtime: nsToIso(r.mtime),
    ctime: nsToIso(r.ctime),
    ...(r.target !== null ? { target_path: displayBytes(r.target) } : {}),
    // Where the rule keeps it (`hashes: [blake3, sha256]`): what threat-intelligence feeds look up.
    ...(r.sha256 !== null ? { hash: { sha256: r.sha256.toString('hex') } } : {}),
  };
}

export function ecsFinding(j: FindingJson, ctx: StreamContext, f: Finding, names?: IdNames): string {
  const what = j.changes?.map((c) => c.attribute).join(', ');
  return JSON.stringify({
    '@timestamp': nsToIso(f.observedNs ?? 0n),
    ecs: { version: ECS_VERSION },
    message: `${j.kind} ${j.path}${what ? ` (${what})` : ''} rule=${j.rule} severity=${j.severity}`,
    event: {
      kind: 'alert',
      category: ['file'],
      type: [ECS_TYPE[f.kind]],
      action: `file-${f.kind}`,
      module: 'fim',
      dataset: 'fim.check',
      severity: ECS_SEVERITY[f.severity],
      ...(j.id !== undefined ? { id: `${ctx.run}-${j.id}` } : {}),
    },
    // A removed file's state is the baseline's: it is gone from the disk.
    file: ecsFile(f, names),
    host: { name: ctx.host },
    rule: { name: j.rule },
    fim: {
      severity: j.severity,
      path_b64: j.path_b64,
      run: ctx.run,
      ...(j.id !== undefined ? { finding: j.id } : {}),
      baseline: baselineJson(ctx.baseline),
      ...(j.changes ? { changes: j.changes } : {}),
      ...(f.record.content !== null ? { blake3: f.record.content.toString('hex') } : {}),
    },
  });
}

export function ecsError(e: ErrorJson, ctx: StreamContext, atNs: bigint): string {
  return JSON.stringify({
    '@timestamp': nsToIso(atNs),
    ecs: { version: ECS_VERSION },
    message: `cannot check ${e.path}: ${e.code} ${e.message}`,
    event: {
      kind: 'event',
      category: ['file'],
      type: ['info'],
      outcome: 'failure',
      module: 'fim',
      dataset: 'fim.check',
    },
    file: { path: e.path },
    error: { code: e.code, message: e.message },
    host: { name: ctx.host },
    fim: { path_b64: e.path_b64, run: ctx.run },
  });
}
