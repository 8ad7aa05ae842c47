import { resolve } from 'node:path';
import { findingEvent } from '../alert/index.js';
import { UsageError } from '../errors.js';
import { loadKeyStore, openAlerter, rootVerifier, sendAndClose } from '../evidence.js';
import { nowNs } from '../ops/baseline.js';
import { runCheck } from '../ops/check.js';
import { journalRun } from '../ops/journal.js';
import { normalisePolicyPath } from '../policy/policy.js';
import { type CheckReport, checkToJson, checkToText, errorToJson, findingToJson } from '../report/report.js';
import { SEVERITIES, type Severity } from '../types.js';
import { type CommonOptions, loadConfig, loadPolicy, type Output, openStore } from './context.js';
import { progressReporter } from './progress.js';

export interface CheckCliOptions extends CommonOptions {
  rule?: string[];
  minSeverity?: string;
  fast?: boolean;
}

export async function checkCommand(paths: string[], o: CheckCliOptions, io: Output): Promise<number> {
  const cfg = loadConfig(o);
  const policy = loadPolicy(cfg);
  if (o.minSeverity !== undefined && !(SEVERITIES as readonly string[]).includes(o.minSeverity)) {
    throw new UsageError(`--min-severity must be one of ${SEVERITIES.join(', ')}`);
  }
  for (const r of o.rule ?? []) {
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
  const progress = progressReporter(!o.quiet && !o.json);
  try {
    const startedNs = nowNs();
    const r = runCheck({
      store,
      policy,
      scope,
      fast: o.fast ?? false,
      verifySignature: rootVerifier(cfg),
      ...(o.rule ? { rules: o.rule } : {}),
      ...(o.minSeverity ? { minSeverity: o.minSeverity as Severity } : {}),
      ...(progress.update ? { onProgress: progress.update } : {}),
    });
    progress.done();
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
    const report: CheckReport = {
      host: cfg.host,
      run: j.runId,
      baseline: r.baseline,
      summary: {
        scanned: r.stats.recorded,
        added: r.findings.filter((f) => f.kind === 'added').length,
        removed: r.findings.filter((f) => f.kind === 'removed').length,
        changed: r.findings.filter((f) => f.kind === 'changed').length,
        errors: r.errors.length,
      },
      findings: r.findings.map((f, i) => findingToJson(f, j.findingIds[i])),
      errors: r.errors.map(errorToJson),
      notes: r.notes,
      exitCode: r.exitCode,
    };
    // Journaled first (above), then sent: a lost datagram loses no evidence.
    await sendAndClose(openAlerter(cfg, keys, store), [
      ...r.findings.map((f, i) => findingEvent(f, j.findingIds[i] ?? 0)),
      {
        type: 'summary',
        baselineRoot: r.baseline.root.toString('hex'),
        counts: report.summary,
        runId: j.runId,
      },
    ]);
    if (o.json) io.out(`${checkToJson(report)}\n`);
    else if (!o.quiet || r.exitCode !== 0) io.out(checkToText(report));
    return r.exitCode;
  } finally {
    progress.done();
    store.close();
  }
}
