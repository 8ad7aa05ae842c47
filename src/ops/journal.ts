/**
 * The journal: every check run and each of its findings, written to SQLite before anything is
 * reported or sent, so a lost datagram or a crash loses no evidence. Findings get ids that alerts
 * and `fim show` refer to.
 */
import { pathToKey } from '../path-key.js';
import { findingToJson } from '../report/report.js';
import type { Store } from '../store/store.js';
import type { Finding, ScanError } from '../types.js';
import { nowNs } from './baseline.js';

export interface JournaledRun {
  runId: number;
  findingIds: number[];
}

export function journalRun(
  store: Store,
  r: {
    kind: string;
    baseline: number;
    scope: string | null;
    startedNs: bigint;
    scanned: number;
    findings: readonly Finding[];
    errors: readonly ScanError[];
    exitCode: number;
    retainRuns: number;
  },
): JournaledRun {
  return store.transaction(() => {
    const runId = store.startRun(r.kind, r.baseline, r.scope, r.startedNs);
    const findingIds = r.findings.map((f) =>
      store.insertFinding(runId, {
        kind: f.kind,
        key: pathToKey(f.path),
        rule: f.rule,
        severity: f.severity,
        detail: JSON.stringify(findingToJson(f)),
        record: f.kind === 'removed' ? null : f.record,
      }),
    );
    for (const e of r.errors)
      store.insertScanError(runId, { key: pathToKey(e.path), code: e.code, message: e.message });
    const count = (k: string) => r.findings.filter((f) => f.kind === k).length;
    store.finishRun(runId, {
      finishedNs: nowNs(),
      scanned: r.scanned,
      added: count('added'),
      removed: count('removed'),
      changed: count('changed'),
      errors: r.errors.length,
      exitCode: r.exitCode,
    });
    store.pruneRuns(r.retainRuns);
    return { runId, findingIds };
  });
}
