/**
 * `check()`: scan (all, or the given paths), compare with the baseline, journal the run, alert, and
 * return the report. Journaled before anything is sent or handed out, so a lost datagram loses no
 * evidence. With `onFinding` it streams: the baseline is verified whole first, then each batch of
 * findings is journaled, handed to `onFinding` and alerted while the scan goes on, and the report
 * it returns holds no findings (memory stays flat however many there are).
 */
import { findingEvent } from '../alert/index.js';
import type { Config } from '../config.js';
import { displayBytes } from '../display.js';
import { UsageError } from '../errors.js';
import { loadKeyStore, openAlerter, rootVerifier, sendAndClose } from '../evidence.js';
import { Explainer } from '../explain/explainer.js';
import { nowNs } from '../ops/baseline.js';
import { runCheck } from '../ops/check.js';
import { hostIdNames } from '../ops/id-names.js';
import { CheckJournal, journalRun } from '../ops/journal.js';
import { RowReader } from '../ops/row-stream.js';
import { SplitPool, splitWorkers } from '../ops/split-scan.js';
import { resolvePathBytes } from '../path-key.js';
import {
  type CheckReport,
  errorToJson,
  type FindingJson,
  findingToJson,
  type IdNames,
} from '../report/report.js';
import type { StreamContext } from '../report/stream.js';
import type { ScanStats } from '../scan/scan.js';
import type { Store } from '../store/store.js';
import { type Finding, SEVERITIES, type Severity } from '../types.js';
import { loadConfig, loadPolicy, openStore, type SessionOptions } from './session.js';

export interface CheckOptions extends SessionOptions {
  /** Restrict the check to these paths (absolute or relative to the working directory; any bytes). */
  paths?: (string | Buffer)[];
  /** Report only these rules. */
  rules?: string[];
  /** Report only findings at least this severe. */
  minSeverity?: string;
  /** Skip rehashing files whose size, times, inode and device are unchanged. */
  fast?: boolean;
  onProgress?: (s: ScanStats) => void;
  /** Called before the scan with the baseline's totals (for a progress display). */
  onTotals?: (t: { entries: number; bytes: bigint }) => void;
  /**
   * Stream: each finding, once journaled, with its JSON form and the run it belongs to. The
   * returned report's `findings` is then empty.
   */
  onFinding?: (j: FindingJson, f: Finding, ctx: StreamContext & { names: IdNames }) => void;
}

/** Findings journaled (and streamed out) per transaction. */
const BATCH = 256;

export async function check(o: CheckOptions): Promise<CheckReport> {
  const cfg = loadConfig(o);
  // More threads than one: a full check splits its walk (ops/split-scan.ts); a --fast one, which
  // hashes little, has a second process read the baseline's rows beside the walk instead
  // (ops/row-stream.ts: a split walk's second thread cost it more than it saved). Either loads
  // while this one reads the policy, the keys and the database.
  const more = !o.paths?.length && splitWorkers(cfg.scan.threads) > 1;
  const reader = more && o.fast ? RowReader.start(cfg.database) : null;
  const pool =
    more && !o.fast && cfg.scan.threads > 1 ? SplitPool.start(splitWorkers(cfg.scan.threads)) : null;
  try {
    return await checkWith(o, cfg, pool, reader);
  } finally {
    pool?.close();
    reader?.close();
  }
}

async function checkWith(
  o: CheckOptions,
  cfg: Config,
  pool: SplitPool | null,
  reader: RowReader | null,
): Promise<CheckReport> {
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
    const b = resolvePathBytes(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
    if (b === undefined)
      throw new UsageError(`bad path ${displayBytes(typeof p === 'string' ? Buffer.from(p) : p)}`);
    return b;
  });
  const scopeText = scope.length ? scope.map((b) => displayBytes(b)).join('\n') : null;
  const keys = loadKeyStore(cfg, o.warn);
  const store = openStore(cfg);
  const names = hostIdNames();
  let writer: Store | null = null;
  try {
    const startedNs = nowNs();
    const baselineMeta = store.requireBaseline();
    o.onTotals?.({ entries: baselineMeta.files, bytes: baselineMeta.bytes });
    // `threads: 0` reads a small baseline here: waiting for the reader would take longer.
    const rows = reader && splitWorkers(cfg.scan.threads, baselineMeta.files) > 1 ? reader : null;
    if (!rows) reader?.close();
    // Streaming writes the journal (and a stream transport's outbox) while the baseline is still
    // being read: SQLite allows no write on a connection that is iterating, so the writes go
    // through a second connection to the same file (WAL: the reader keeps its snapshot).
    writer = o.onFinding ? openStore(cfg) : null;
    const alerter = writer ? openAlerter(cfg, keys, writer, undefined, 'check') : null;
    let journal: CheckJournal | undefined;
    const start = () =>
      CheckJournal.start(writer ?? store, {
        kind: 'check',
        baseline: baselineMeta.id,
        scope: scopeText,
        startedNs,
      });
    const batch: Finding[] = [];
    const flush = () => {
      if (batch.length === 0) return;
      journal ??= start();
      const ids = journal.add(batch);
      const ctx = { host: cfg.host, run: journal.runId, baseline: baselineMeta, names };
      batch.forEach((f, i) => {
        const id = ids[i] ?? 0;
        o.onFinding?.(findingToJson(f, id, names), f, ctx);
        alerter?.send(findingEvent(f, id));
      });
      batch.length = 0;
    };
    // The streamed findings by severity (r.findings stays empty when they stream).
    const streamedSeverity: Record<Severity, number> = { low: 0, medium: 0, high: 0, critical: 0 };
    let r: ReturnType<typeof runCheck>;
    try {
      r = runCheck({
        store,
        policy,
        scope,
        fast: o.fast ?? false,
        workers: rows ? 1 : (pool?.n ?? splitWorkers(cfg.scan.threads, baselineMeta.files)),
        pool,
        rowReader: rows,
        verifySignature: rootVerifier(cfg, keys),
        explainer: new Explainer(cfg.explain),
        ...(o.rules ? { rules: o.rules } : {}),
        ...(o.minSeverity ? { minSeverity: o.minSeverity as Severity } : {}),
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        ...(o.onFinding
          ? {
              onFinding: (f: Finding) => {
                streamedSeverity[f.severity]++;
                batch.push(f);
                if (batch.length >= BATCH) flush();
              },
            }
          : {}),
      });
      flush();
    } catch (err) {
      await alerter?.close(2000);
      throw err;
    }
    const summary = {
      scanned: r.stats.recorded,
      ...r.counts,
      errors: r.errors.length,
    };
    let runId: number;
    let findingIds: number[] = [];
    if (o.onFinding) {
      journal ??= start();
      journal.finish({
        scanned: r.stats.recorded,
        counts: r.counts,
        errors: r.errors,
        exitCode: r.exitCode,
        retainRuns: cfg.retention.runs,
      });
      runId = journal.runId;
    } else {
      const j = journalRun(store, {
        kind: 'check',
        baseline: r.baseline.id,
        scope: scopeText,
        startedNs,
        scanned: r.stats.recorded,
        findings: r.findings,
        errors: r.errors,
        exitCode: r.exitCode,
        retainRuns: cfg.retention.runs,
      });
      runId = j.runId;
      findingIds = j.findingIds;
    }
    const report: CheckReport = {
      host: cfg.host,
      startedNs,
      finishedNs: nowNs(),
      run: runId,
      baseline: r.baseline,
      summary,
      findings: r.findings.map((f, i) => findingToJson(f, findingIds[i], names)),
      errors: r.errors.map(errorToJson),
      notes: r.notes,
      exitCode: r.exitCode,
    };
    const summaryEvent = {
      type: 'summary' as const,
      baselineRoot: r.baseline.root.toString('hex'),
      counts: report.summary,
      runId,
      bySeverity: o.onFinding ? streamedSeverity : severityCounts(r.findings),
    };
    if (o.onFinding) await sendAndClose(alerter, [summaryEvent]);
    else
      await sendAndClose(openAlerter(cfg, keys, store, undefined, 'check'), [
        ...r.findings.map((f, i) => findingEvent(f, findingIds[i] ?? 0)),
        summaryEvent,
      ]);
    return report;
  } finally {
    writer?.close();
    store.close();
  }
}

/** Findings by severity, for the signed summary. */
function severityCounts(findings: readonly Finding[]): Record<Severity, number> {
  const out: Record<Severity, number> = { low: 0, medium: 0, high: 0, critical: 0 };
  for (const f of findings) out[f.severity]++;
  return out;
}
