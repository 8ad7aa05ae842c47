/**
 * The store's façade: `Store` opens a fim database (db.ts) and offers one method per thing the rest
 * of fim needs, delegating to the module that owns each table: baselines.ts (baseline metadata),
 * records.ts with record-codec.ts (a baseline's records), journal.ts with record-blob.ts (runs,
 * findings, scan errors), reported.ts (what the daemon already alerted), outbox.ts (alerts not
 * yet delivered over TCP/TLS) and chain.ts (the chain of alert sessions). Every row is checked as it is read (row-check.ts): a tampered or
 * corrupt row is a StorageError naming its table and column, never a cast that lies.
 *
 * It must hold no SQL and no logic of its own beyond that delegation; its methods, their signatures
 * and the types it exports are what the CLI, the daemon and the operations call, so they only grow.
 */

import { NoBaselineError } from '../errors.js';
import type { FileRecord } from '../types.js';
import { type BaselineMeta, BaselineTable } from './baselines.js';
import { openSessionChain, type SessionChainTable } from './chain.js';
import {
  type Connection,
  type Db,
  incrementalVacuum,
  type OpenOptions,
  openDatabase,
  readTransaction,
  writeTransaction,
} from './db.js';
import { Journal, type NewFinding, type RunRow, type RunSummary, type StoredFinding } from './journal.js';
import { type Outbox, openOutbox } from './outbox.js';
import { type KeyedRecord, RecordTable, type Skips } from './records.js';
import { type ReportedEntry, ReportedSet } from './reported.js';

export type { BaselineMeta } from './baselines.js';
export type { ChainHead, SessionChainTable } from './chain.js';
export { type Connection, type Db, type OpenOptions, SCHEMA_VERSION } from './db.js';
export type { NewFinding, RunRow, RunSummary, StoredFinding } from './journal.js';
export type { Outbox } from './outbox.js';
export { decodeRecord, encodeRecord } from './record-blob.js';
export { RECORD_COLUMNS, type RecordColumns, recordToRow, rowToRecord } from './record-codec.js';
export type { KeyedRecord } from './records.js';
export { Skips, subtreeEnd } from './records.js';
export type { ReportedEntry } from './reported.js';

export class Store implements Connection {
  readonly db: Db;
  private readonly baselines: BaselineTable;
  private readonly recordTable: RecordTable;
  private readonly journal: Journal;
  private readonly reportedSet: ReportedSet;

  private constructor(
    readonly file: string,
    db: Db,
  ) {
    this.db = db;
    this.baselines = new BaselineTable(this);
    this.recordTable = new RecordTable(this);
    this.journal = new Journal(this);
    this.reportedSet = new ReportedSet(this);
  }

  /** Open a fim database; a missing file is NoBaselineError unless `create`; anything else wrong is StorageError. */
  static open(file: string, opts: OpenOptions = {}): Store {
    return new Store(file, openDatabase(file, opts));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Run `fn` in one read transaction: one snapshot for all its reads (db.ts readTransaction). */
  readTransaction<T>(fn: () => T): T {
    return readTransaction(this, fn);
  }

  /** Run `fn` in one write transaction (BEGIN IMMEDIATE: fail fast when another writer holds it). */
  transaction<T>(fn: () => T): T {
    return writeTransaction(this, fn);
  }

  // ---- baselines ----

  latestBaseline(): BaselineMeta | undefined {
    return this.baselines.latest();
  }

  requireBaseline(): BaselineMeta {
    const b = this.baselines.latest();
    if (!b) throw new NoBaselineError(this.file);
    return b;
  }

  baseline(id: number): BaselineMeta | undefined {
    return this.baselines.byId(id);
  }

  /** Keep the policy texts (JSON [{file, text}]) a baseline was made under. */
  saveBaselinePolicy(baselineId: number, sourcesJson: string): void {
    this.baselines.savePolicy(baselineId, sourcesJson);
  }

  /** The policy texts of a baseline, or undefined for one made before fim kept them. */
  baselinePolicy(baselineId: number): string | undefined {
    return this.baselines.policy(baselineId);
  }

  /** A new root signature for a verified baseline (key rotation). */
  setBaselineSignature(id: number, signature: string): void {
    this.baselines.setSignature(id, signature);
  }

  latestBaselineId(): number | null {
    return this.baselines.latestId();
  }

  nextBaselineId(): number {
    return this.baselines.nextId();
  }

  insertBaselineMeta(m: BaselineMeta): void {
    this.baselines.insert(m);
  }

  // ---- a baseline's records ----

  /** Records of a baseline in key (walk) order. */
  records(baseline: number): Generator<KeyedRecord> {
    return this.recordTable.all(baseline);
  }

  /** Each regular file's path, device and inode in a baseline (a hint: see RecordTable). */
  fileInodes(baseline: number): Generator<{ path: Buffer; dev: bigint; inode: bigint }> {
    return this.recordTable.fileInodes(baseline);
  }

  /** Records below a directory code, in key order, leaving out `skips` (RecordTable.subtree). */
  subtreeRecords(baseline: number, code: Buffer, skips: Skips): Generator<KeyedRecord> {
    return this.recordTable.subtree(baseline, code, skips);
  }

  /**
   * Records at or below each of several path keys (none below another), in key order. With a
   * finite `depth`, only that many levels below each key.
   */
  recordsUnderMany(
    baseline: number,
    scopeKeys: readonly Buffer[],
    depth = Number.POSITIVE_INFINITY,
  ): Generator<KeyedRecord> {
    return this.recordTable.underMany(baseline, scopeKeys, depth);
  }

  /** Insert-statement factory for writing a baseline's records inside a transaction, in key order. */
  recordWriter(baseline: number): (key: Buffer, r: FileRecord) => void {
    return this.recordTable.writer(baseline);
  }

  /**
   * Keep the records of `keep` and of the newest `count` baselines (older metadata stays, for
   * history; older records go, and their space is given back by `vacuum`).
   */
  pruneOldRecords(keep: number, count = 1): void {
    this.recordTable.pruneExcept(keep, count);
  }

  /** Whether a baseline's records are still kept. */
  hasRecords(baseline: number): boolean {
    return this.recordTable.has(baseline);
  }

  /** Return free pages to the file system (the database is in incremental auto-vacuum mode). */
  vacuum(): void {
    incrementalVacuum(this);
  }

  copyRecords(from: number, to: number): void {
    this.recordTable.copy(from, to);
  }

  deleteRecord(baseline: number, key: Buffer): void {
    this.recordTable.delete(baseline, key);
  }

  // ---- runs and the journal ----

  startRun(kind: string, baseline: number | null, scope: string | null, startedNs: bigint): number {
    return this.journal.startRun(kind, baseline, scope, startedNs);
  }

  finishRun(id: number, s: RunSummary): void {
    this.journal.finishRun(id, s);
  }

  insertFinding(run: number, f: NewFinding): number {
    return this.journal.insertFinding(run, f);
  }

  updateFinding(id: number, detail: string, record: FileRecord | null): void {
    this.journal.updateFinding(id, detail, record);
  }

  insertScanError(run: number, e: { key: Buffer; code: string; message: string }): void {
    this.journal.insertScanError(run, e);
  }

  runs(limit: number): RunRow[] {
    return this.journal.runs(limit);
  }

  run(id: number): RunRow | undefined {
    return this.journal.run(id);
  }

  latestRun(kind: string): RunRow | undefined {
    return this.journal.latestRun(kind);
  }

  findings(run: number): StoredFinding[] {
    return this.journal.findings(run);
  }

  scanErrors(run: number): { path: Buffer; code: string; message: string }[] {
    return this.journal.scanErrors(run);
  }

  /** Keep the newest `keep` runs (and their findings). */
  pruneRuns(keep: number): void {
    this.journal.pruneRuns(keep);
  }

  // ---- what the daemon already alerted, per baseline, so it does not repeat itself ----

  reported(baseline: number): Map<string, ReportedEntry> {
    return this.reportedSet.load(baseline);
  }

  setReported(baseline: number, key: Buffer, sigHex: string, finding: number | null): void {
    this.reportedSet.set(baseline, key, sigHex, finding);
  }

  clearReported(baseline: number, key: Buffer): void {
    this.reportedSet.clear(baseline, key);
  }

  /** Carry open findings over to a new baseline (after `accept`), dropping older baselines' rows. */
  moveReported(from: number, to: number): void {
    this.reportedSet.move(from, to);
  }

  // ---- outbox for TCP/TLS alerts ----

  outbox(limit: number): Outbox {
    return openOutbox(this, limit);
  }

  // ---- the chain of alert sessions ----

  sessionChain(): SessionChainTable {
    return openSessionChain(this);
  }
}
