/**
 * The journal: every check run (`run`), its findings (`finding`, each with its JSON detail as
 * reported and, for `accept`, the new record as a blob, see record-blob.ts) and the entries it
 * could not check (`scan_error`), with a retention limit. Rows are checked as they are read.
 *
 * It must not decide anything about findings (compare and the daemon do) nor open transactions:
 * the callers journal one run in one.
 */
import { keyToPath } from '../path-key.js';
import { type FileRecord, SEVERITIES } from '../types.js';
import type { Connection, Statement } from './db.js';
import { decodeRecord, encodeRecord } from './record-blob.js';
import {
  badColumn,
  blob,
  count,
  id,
  idOrNull,
  int64,
  intIn,
  oneOf,
  type Row,
  text,
  textOrNull,
  type Where,
} from './row-check.js';

export interface RunRow {
  id: number;
  kind: string;
  startedNs: bigint;
  finishedNs: bigint | null;
  baseline: number | null;
  scope: string | null;
  scanned: number;
  added: number;
  removed: number;
  changed: number;
  errors: number;
  exitCode: number | null;
}

export interface StoredFinding {
  id: number;
  run: number;
  kind: string;
  path: Buffer;
  rule: string;
  severity: string;
  /** The JSON finding (display form), as reported. */
  detail: string;
  /** The new record (for accept), encoded. */
  record: FileRecord | null;
}

export interface RunSummary {
  finishedNs: bigint;
  scanned: number;
  added: number;
  removed: number;
  changed: number;
  errors: number;
  exitCode: number;
}

export interface NewFinding {
  kind: string;
  key: Buffer;
  rule: string;
  severity: string;
  detail: string;
  record: FileRecord | null;
}

const FINDING_KINDS = ['added', 'removed', 'changed'] as const;

export class Journal {
  private readonly inRun: Where;
  private readonly inFinding: Where;
  private readonly inScanError: Where;
  private stmts: {
    startRun: Statement;
    finishRun: Statement;
    insertFinding: Statement;
    updateFinding: Statement;
    insertScanError: Statement;
  } | null = null;

  constructor(private readonly c: Connection) {
    this.inRun = { file: c.file, table: 'run' };
    this.inFinding = { file: c.file, table: 'finding' };
    this.inScanError = { file: c.file, table: 'scan_error' };
  }

  /** Write statements, prepared once: a run of a tree where everything changed journals 100k findings. */
  private q() {
    const db = this.c.db;
    this.stmts ??= {
      startRun: db.prepare('INSERT INTO run (kind, started_ns, baseline, scope) VALUES (?,?,?,?)'),
      finishRun: db.prepare(
        'UPDATE run SET finished_ns=?, scanned=?, added=?, removed=?, changed=?, errors=?, exit_code=? WHERE id=?',
      ),
      insertFinding: db.prepare(
        'INSERT INTO finding (run, kind, key, rule, severity, detail, record) VALUES (?,?,?,?,?,?,?)',
      ),
      updateFinding: db.prepare('UPDATE finding SET detail = ?, record = ? WHERE id = ?'),
      insertScanError: db.prepare('INSERT INTO scan_error (run, key, code, message) VALUES (?,?,?,?)'),
    };
    return this.stmts;
  }

  startRun(kind: string, baseline: number | null, scope: string | null, startedNs: bigint): number {
    const r = this.q().startRun.run(kind, startedNs, baseline, scope);
    return Number(r.lastInsertRowid);
  }

  finishRun(runId: number, s: RunSummary): void {
    this.q().finishRun.run(
      s.finishedNs,
      s.scanned,
      s.added,
      s.removed,
      s.changed,
      s.errors,
      s.exitCode,
      runId,
    );
  }

  insertFinding(run: number, f: NewFinding): number {
    const r = this.q().insertFinding.run(
      run,
      f.kind,
      f.key,
      f.rule,
      f.severity,
      f.detail,
      f.record ? encodeRecord(f.record) : null,
    );
    return Number(r.lastInsertRowid);
  }

  updateFinding(findingId: number, detail: string, record: FileRecord | null): void {
    this.q().updateFinding.run(detail, record ? encodeRecord(record) : null, findingId);
  }

  insertScanError(run: number, e: { key: Buffer; code: string; message: string }): void {
    this.q().insertScanError.run(run, e.key, e.code, e.message);
  }

  runs(limit: number): RunRow[] {
    const rows = this.c.db.prepare('SELECT * FROM run ORDER BY id DESC LIMIT ?').all(limit) as Row[];
    return rows.map((r) => this.toRun(r));
  }

  run(runId: number): RunRow | undefined {
    const r = this.c.db.prepare('SELECT * FROM run WHERE id = ?').get(runId) as Row | undefined;
    return r ? this.toRun(r) : undefined;
  }

  latestRun(kind: string): RunRow | undefined {
    const r = this.c.db
      .prepare('SELECT * FROM run WHERE kind = ? AND finished_ns IS NOT NULL ORDER BY id DESC LIMIT 1')
      .get(kind) as Row | undefined;
    return r ? this.toRun(r) : undefined;
  }

  private toRun(r: Row): RunRow {
    const w = this.inRun;
    const at = typeof r.id === 'bigint' ? r.id : undefined;
    const finished = r.finished_ns;
    return {
      id: id(r.id, w, 'id'),
      kind: text(r.kind, w, 'kind', at),
      startedNs: int64(r.started_ns, w, 'started_ns', at),
      finishedNs: finished === null ? null : int64(finished, w, 'finished_ns', at),
      baseline: idOrNull(r.baseline, w, 'baseline', at),
      scope: textOrNull(r.scope, w, 'scope', at),
      scanned: count(r.scanned, w, 'scanned', at),
      added: count(r.added, w, 'added', at),
      removed: count(r.removed, w, 'removed', at),
      changed: count(r.changed, w, 'changed', at),
      errors: count(r.errors, w, 'errors', at),
      exitCode: r.exit_code === null ? null : intIn(r.exit_code, 0n, 255n, w, 'exit_code', at),
    };
  }

  findings(run: number): StoredFinding[] {
    const rows = this.c.db.prepare('SELECT * FROM finding WHERE run = ? ORDER BY key').all(run) as Row[];
    return rows.map((r) => this.toFinding(r));
  }

  private toFinding(r: Row): StoredFinding {
    const w = this.inFinding;
    const at = typeof r.id === 'bigint' ? r.id : undefined;
    const detail = text(r.detail, w, 'detail', at);
    // `fim show` and `accept` parse it; a tampered detail must fail here, naming its row.
    let parsed: unknown;
    try {
      parsed = JSON.parse(detail);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw badColumn(w, 'detail', detail, 'a JSON finding', at);
    }
    const record = r.record === null ? null : decodeRecord(blob(r.record, w, 'record', at), w, at);
    return {
      id: id(r.id, w, 'id'),
      run: id(r.run, w, 'run', at),
      kind: oneOf(r.kind, FINDING_KINDS, w, 'kind', at),
      path: keyToPath(blob(r.key, w, 'key', at)),
      rule: text(r.rule, w, 'rule', at),
      severity: oneOf(r.severity, SEVERITIES, w, 'severity', at),
      detail,
      record,
    };
  }

  scanErrors(run: number): { path: Buffer; code: string; message: string }[] {
    const w = this.inScanError;
    const rows = this.c.db.prepare('SELECT * FROM scan_error WHERE run = ? ORDER BY key').all(run) as Row[];
    return rows.map((r) => {
      const key = blob(r.key, w, 'key');
      return {
        path: keyToPath(key),
        code: text(r.code, w, 'code', key),
        message: text(r.message, w, 'message', key),
      };
    });
  }

  /** Keep the newest `keep` runs (and, by cascade, their findings and scan errors). */
  pruneRuns(keep: number): void {
    this.c.db
      .prepare('DELETE FROM run WHERE id NOT IN (SELECT id FROM run ORDER BY id DESC LIMIT ?)')
      .run(keep);
  }
}
