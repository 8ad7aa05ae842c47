/**
 * `check()`: scan (all, or the given paths), compare with the baseline, journal the run, alert, and
 * return the report. Journaled before anything is sent, so a lost datagram loses no evidence.
 */
import { resolve } from 'node:path';
import { findingEvent } from '../alert/index.js';
import { UsageError } from '../errors.js';
import { loadKeyStore, openAlerter, rootVerifier, sendAndClose } from '../evidence.js';
import { nowNs } from '../ops/baseline.js';
import { runCheck } from '../ops/check.js';
import { hostIdNames } from '../ops/id-names.js';
import { journalRun } from '../ops/journal.js';
import { normalisePolicyPath } from '../policy/policy.js';
import { type CheckReport, errorToJson, findingToJson } from '../report/report.js';
import type { ScanStats } from '../scan/scan.js';
import { SEVERITIES, type Severity } from '../types.js';
import { loadConfig, loadPolicy, openStore, type SessionOptions } from './session.js';

export interface CheckOptions extends SessionOptions {
  /** Restrict the check to these paths (absolute or relative to the working directory). */
  paths?: string[];
  /** Report only these rules. */
  rules?: string[];
  /** Report only findings at least this severe. */
  minSeverity?: string;
  /** Skip rehashing files whose size, times, inode and device are unchanged. */
  fast?: boolean;
  onProgress?: (s: ScanStats) => void;
  /** Called before the scan with the baseline's totals (for a progress display). */
  onTotals?: (t: { entries: number; bytes: bigint }) => void;
}

export async function check(o: CheckOptions): Promise<CheckReport> {
  const cfg = loadConfig(o);
  const policy = loadPolicy(cfg);
  const paths = o.paths ?? [];
  if (o.minSeverity !== undefined && !(SEVERITIES as readonly string[]).includes(o.minSeverity)) {
    throw new UsageError(`--min-severity must be one of ${SEVERITIES.join(', ')}`);
  }
  for (const r of o.rules ?? []) {
    if (!policy.rules.some((x) => x.name === r))
      throw new UsageError(`--rule ${r}: no such rule in the policy`);
  }
  const scope = paths.map((p) => {
    const n = normalisePolicyPath(resolve(p));
    if (n === undefined) throw new UsageError(`bad path ${p}`);
    return Buffer.from(n);
  });
  const keys = loadKeyStore(cfg);
  const store = openStore(cfg);
  try {
    const startedNs = nowNs();
    if (o.onTotals) {
      const b = store.requireBaseline();
      o.onTotals({ entries: b.files, bytes: b.bytes });
    }
    const r = runCheck({
      store,
      policy,
      scope,
      fast: o.fast ?? false,
      verifySignature: rootVerifier(cfg),
      ...(o.rules ? { rules: o.rules } : {}),
      ...(o.minSeverity ? { minSeverity: o.minSeverity as Severity } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    const j = journalRun(store, {
      kind: 'check',
      baseline: r.baseline.id,
      scope: paths.length ? paths.join('\n') : null,
      startedNs,
      scanned: r.stats.recorded,
      findings: r.findings,
      errors: r.errors,
      exitCode: r.exitCode,
      retainRuns: cfg.retention.runs,
    });
    const finishedNs = nowNs();
    const names = hostIdNames();
    const report: CheckReport = {
      host: cfg.host,
      startedNs,
      finishedNs,
      run: j.runId,
      baseline: r.baseline,
      summary: {
        scanned: r.stats.recorded,
        added: r.findings.filter((f) => f.kind === 'added').length,
        removed: r.findings.filter((f) => f.kind === 'removed').length,
        changed: r.findings.filter((f) => f.kind === 'changed').length,
        errors: r.errors.length,
      },
      findings: r.findings.map((f, i) => findingToJson(f, j.findingIds[i], names)),
      errors: r.errors.map(errorToJson),
      notes: r.notes,
      exitCode: r.exitCode,
    };
    await sendAndClose(openAlerter(cfg, keys, store), [
      ...r.findings.map((f, i) => findingEvent(f, j.findingIds[i] ?? 0)),
      {
        type: 'summary',
        baselineRoot: r.baseline.root.toString('hex'),
        counts: report.summary,
        runId: j.runId,
      },
    ]);
    return report;
  } finally {
    store.close();
  }
}
