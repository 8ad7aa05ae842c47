/**
 * The database: the only importer of better-sqlite3. Owns the schema and its migrations, the
 * baselines (written in one transaction, so `kill -9` at any moment leaves the previous one whole),
 * their records under the walk-order key, the check runs and their findings (the journal), and the
 * outbox of alerts not yet delivered over TCP/TLS.
 *
 * It must not half-trust anything: a file that is not a fim database, or one from a newer fim, is
 * refused with a StorageError rather than read as empty (an empty baseline would report every file
 * as added and bury a real intrusion in noise).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { NoBaselineError, StorageError } from '../errors.js';
import { joinKey, keyAsDir, keyDepth, keyToPath, splitKey } from '../path-key.js';
import { FILE_TYPES, type FileRecord, type FileType } from '../types.js';

export const SCHEMA_VERSION = 1;
const APPLICATION_ID = 0x46494d31; // "FIM1": marks the file as ours

const MIGRATIONS: readonly string[] = [
  // 0 → 1
  `
  CREATE TABLE baseline (
    id INTEGER PRIMARY KEY,
    created_ns INTEGER NOT NULL,
    label TEXT NOT NULL,
    host TEXT NOT NULL,
    policy_hash BLOB NOT NULL,
    files INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    root BLOB NOT NULL,
    signature TEXT,
    parent INTEGER,
    reason TEXT NOT NULL
  );
  CREATE TABLE dir (
    baseline INTEGER NOT NULL,
    code BLOB NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (baseline, code)
  ) WITHOUT ROWID;
  CREATE TABLE record (
    baseline INTEGER NOT NULL,
    dir INTEGER NOT NULL,
    name BLOB NOT NULL,
    type INTEGER NOT NULL,
    mode INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    gid INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    ctime INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    dev INTEGER NOT NULL,
    nlink INTEGER NOT NULL,
    target BLOB,
    content BLOB,
    PRIMARY KEY (baseline, dir, name)
  ) WITHOUT ROWID;
  CREATE TABLE run (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    started_ns INTEGER NOT NULL,
    finished_ns INTEGER,
    baseline INTEGER,
    scope TEXT,
    scanned INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    changed INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER
  );
  CREATE TABLE finding (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    key BLOB NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    detail TEXT NOT NULL,
    record BLOB
  );
  CREATE INDEX finding_run ON finding(run);
  CREATE TABLE scan_error (
    run INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    key BLOB NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL
  );
  CREATE INDEX scan_error_run ON scan_error(run);
  CREATE TABLE outbox (id INTEGER PRIMARY KEY, msg BLOB NOT NULL);
  CREATE TABLE reported (
    baseline INTEGER NOT NULL,
    key BLOB NOT NULL,
    sig BLOB NOT NULL,
    finding INTEGER,
    PRIMARY KEY (baseline, key)
  ) WITHOUT ROWID;
  `,
];

export interface BaselineMeta {
  id: number;
  createdNs: bigint;
  label: string;
  host: string;
  policyHash: Buffer;
  files: number;
  bytes: bigint;
  root: Buffer;
  signature: string | null;
  parent: number | null;
  reason: string;
}

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

type Row = Record<string, unknown>;

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number);
}
function big(v: unknown): bigint {
  return typeof v === 'bigint' ? v : BigInt(v as number);
}
function buf(v: unknown): Buffer | null {
  return v === null || v === undefined ? null : Buffer.from(v as Uint8Array);
}

const TYPE_CODE = new Map<FileType, number>(FILE_TYPES.map((t, i) => [t, i]));

export function rowToRecord(r: Row, key: Buffer): FileRecord {
  return {
    path: keyToPath(key),
    type: FILE_TYPES[num(r.type)] ?? 'unknown',
    mode: num(r.mode),
    uid: num(r.uid),
    gid: num(r.gid),
    size: big(r.size),
    mtime: big(r.mtime),
    ctime: big(r.ctime),
    inode: big(r.inode),
    dev: big(r.dev),
    nlink: num(r.nlink),
    target: buf(r.target),
    content: buf(r.content),
  };
}

/** Records cross the journal as a compact JSON blob (for `accept`). */
export function encodeRecord(r: FileRecord): Buffer {
  return Buffer.from(
    JSON.stringify({
      p: r.path.toString('base64'),
      t: r.type,
      m: r.mode,
      u: r.uid,
      g: r.gid,
      s: r.size.toString(),
      mt: r.mtime.toString(),
      ct: r.ctime.toString(),
      i: r.inode.toString(),
      d: r.dev.toString(),
      n: r.nlink,
      l: r.target?.toString('base64') ?? null,
      c: r.content?.toString('hex') ?? null,
    }),
  );
}

export function decodeRecord(b: Buffer): FileRecord {
  const o = JSON.parse(b.toString()) as Record<string, string | number | null>;
  return {
    path: Buffer.from(String(o.p), 'base64'),
    type: (FILE_TYPES as readonly string[]).includes(String(o.t)) ? (o.t as FileType) : 'unknown',
    mode: Number(o.m),
    uid: Number(o.u),
    gid: Number(o.g),
    size: BigInt(String(o.s)),
    mtime: BigInt(String(o.mt)),
    ctime: BigInt(String(o.ct)),
    inode: BigInt(String(o.i)),
    dev: BigInt(String(o.d)),
    nlink: Number(o.n),
    target: o.l === null ? null : Buffer.from(String(o.l), 'base64'),
    content: o.c === null ? null : Buffer.from(String(o.c), 'hex'),
  };
}

export interface OpenOptions {
  /** Create the file (and its directory) when missing; otherwise a missing file is NoBaselineError. */
  create?: boolean;
  readonly?: boolean;
}

export class Store {
  readonly db: Database.Database;

  private constructor(
    readonly file: string,
    db: Database.Database,
  ) {
    this.db = db;
  }

  static open(file: string, opts: OpenOptions = {}): Store {
    const fresh = !existsSync(file);
    if (fresh) {
      if (!opts.create) throw new NoBaselineError(file);
      try {
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      } catch (err) {
        throw new StorageError(
          `cannot create the database directory for ${file}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    let db: Database.Database;
    try {
      db = new Database(file, {
        readonly: opts.readonly ?? false,
        fileMustExist: !opts.create,
        timeout: 5000,
      });
    } catch (err) {
      throw new StorageError(`cannot open database ${file}: ${(err as Error).message}`, { cause: err });
    }
    const store = new Store(file, db);
    try {
      db.defaultSafeIntegers(true);
      // better-sqlite3 builds SQLite with a 16 MB page cache; baselines are read and written in one
      // sequential pass, so a small cache costs nothing and keeps memory flat as the tree grows.
      db.pragma('cache_size = -2000');
      if (!opts.readonly) {
        // A new file only, and before WAL mode is set (it cannot change later): lets a new
        // baseline give back to the file system the pages the previous one used.
        if (fresh) db.pragma('auto_vacuum = INCREMENTAL');
        db.pragma('journal_mode = WAL');
        // A baseline or a journaled finding must survive a power cut once we said it was stored.
        db.pragma('synchronous = FULL');
      }
      db.pragma('foreign_keys = ON');
      store.migrate(opts.readonly ?? false);
    } catch (err) {
      db.close();
      if (err instanceof StorageError) throw err;
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        throw new StorageError(`database ${file} is locked by another process; retry when it is done`, {
          cause: err,
        });
      }
      throw new StorageError(
        `${file} is not a usable fim database (${(err as Error).message}); move it aside and run "fim baseline"`,
        { cause: err },
      );
    }
    return store;
  }

  private migrate(readonly: boolean): void {
    const appId = num(this.db.pragma('application_id', { simple: true }));
    const version = num(this.db.pragma('user_version', { simple: true }));
    const tables = num(this.db.prepare('SELECT count(*) FROM sqlite_master').pluck().get());
    if (appId !== APPLICATION_ID && (appId !== 0 || tables > 0)) {
      throw new StorageError(`${this.file} is a SQLite file but not a fim database; refusing to use it`);
    }
    if (version > SCHEMA_VERSION) {
      throw new StorageError(
        `${this.file} has schema version ${version}, newer than this fim understands (${SCHEMA_VERSION}): upgrade fim`,
      );
    }
    if (version === SCHEMA_VERSION) return;
    if (readonly) throw new StorageError(`${this.file} needs a schema upgrade; open it read-write once`);
    this.db.transaction(() => {
      for (let v = version; v < SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]!);
      this.db.pragma(`application_id = ${APPLICATION_ID}`);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Run `fn` in one write transaction (BEGIN IMMEDIATE: fail fast when another writer holds it). */
  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_')) {
        const hint =
          code === 'SQLITE_BUSY'
            ? 'another fim process holds the database; retry when it is done'
            : code === 'SQLITE_FULL'
              ? 'the disk is full; free space and retry'
              : (err as Error).message;
        throw new StorageError(`database ${this.file}: ${hint}`, { cause: err });
      }
      throw err;
    }
  }

  latestBaseline(): BaselineMeta | undefined {
    const r = this.db.prepare('SELECT * FROM baseline ORDER BY id DESC LIMIT 1').get() as Row | undefined;
    return r ? this.toMeta(r) : undefined;
  }

  requireBaseline(): BaselineMeta {
    const b = this.latestBaseline();
    if (!b) throw new NoBaselineError(this.file);
    return b;
  }

  baseline(id: number): BaselineMeta | undefined {
    const r = this.db.prepare('SELECT * FROM baseline WHERE id = ?').get(id) as Row | undefined;
    return r ? this.toMeta(r) : undefined;
  }

  private toMeta(r: Row): BaselineMeta {
    return {
      id: num(r.id),
      createdNs: big(r.created_ns),
      label: String(r.label),
      host: String(r.host),
      policyHash: buf(r.policy_hash)!,
      files: num(r.files),
      bytes: big(r.bytes),
      root: buf(r.root)!,
      signature: r.signature === null ? null : String(r.signature),
      parent: r.parent === null ? null : num(r.parent),
      reason: String(r.reason),
    };
  }

  /*
   * Records are stored as (directory id, name); each directory code (see path-key.ts) once per
   * baseline in `dir`. Reading in key order is: directories by code, then each one's entries by
   * name, which is exactly the walk's order. A long common path costs a few bytes per file.
   */

  private stmts: {
    dirs: Database.Statement;
    dirsIn: Database.Statement;
    dirId: Database.Statement;
    entries: Database.Statement;
    one: Database.Statement;
  } | null = null;

  private q() {
    this.stmts ??= {
      dirs: this.db.prepare('SELECT code, id FROM dir WHERE baseline = ? ORDER BY code'),
      dirsIn: this.db.prepare(
        'SELECT code, id FROM dir WHERE baseline = ? AND code >= ? AND code < ? ORDER BY code',
      ),
      dirId: this.db.prepare('SELECT id FROM dir WHERE baseline = ? AND code = ?').pluck(),
      entries: this.db.prepare('SELECT * FROM record WHERE baseline = ? AND dir = ? ORDER BY name'),
      one: this.db.prepare('SELECT * FROM record WHERE baseline = ? AND dir = ? AND name = ?'),
    };
    return this.stmts;
  }

  private *entriesOf(
    baseline: number,
    code: Buffer,
    id: unknown,
  ): Generator<{ key: Buffer; record: FileRecord }> {
    // .all(): one directory's entries at a time, so no statement stays open across yields.
    for (const r of this.q().entries.all(baseline, id) as Row[]) {
      const key = joinKey(code, buf(r.name)!);
      yield { key, record: rowToRecord(r, key) };
    }
  }

  /** Records of a baseline in key (walk) order. */
  *records(baseline: number): Generator<{ key: Buffer; record: FileRecord }> {
    // Directories stream (reads may run while a read iterates); one directory's entries at a time.
    for (const d of this.q().dirs.iterate(baseline) as Iterable<Row>) {
      yield* this.entriesOf(baseline, buf(d.code)!, d.id);
    }
  }

  /**
   * Records at or below each of several path keys (none below another), in key order. With a
   * finite `depth`, only that many levels below each key.
   */
  *recordsUnderMany(
    baseline: number,
    scopeKeys: readonly Buffer[],
    depth = Number.POSITIVE_INFINITY,
  ): Generator<{ key: Buffer; record: FileRecord }> {
    // Units that never overlap in key space: a scope's own record (one key), and the directories
    // at or below each scope (each a contiguous run of keys starting at code + 00 00).
    type Unit = {
      start: Buffer;
      own?: { parent: Buffer; name: Buffer };
      dir?: { code: Buffer; id: unknown };
    };
    const units: Unit[] = [];
    for (const k of scopeKeys) {
      if (k.length > 0) {
        const { parent, name } = splitKey(k);
        units.push({ start: k, own: { parent, name } });
      }
      const code = keyAsDir(k);
      const base = keyDepth(k);
      const end = Buffer.concat([code, Buffer.from([0, 2])]);
      for (const d of this.q().dirsIn.all(baseline, code, end) as Row[]) {
        const dc = buf(d.code)!;
        // A directory's entries lie one level below it.
        if (keyDepth(dc) - base + 1 > depth) continue;
        units.push({ start: Buffer.concat([dc, Buffer.from([0, 0])]), dir: { code: dc, id: d.id } });
      }
    }
    units.sort((a, b) => Buffer.compare(a.start, b.start));
    for (const u of units) {
      if (u.own) {
        const id = this.q().dirId.get(baseline, u.own.parent);
        if (id === undefined) continue;
        const r = this.q().one.get(baseline, id, u.own.name) as Row | undefined;
        if (r) yield { key: u.start, record: rowToRecord(r, u.start) };
      } else if (u.dir) {
        yield* this.entriesOf(baseline, u.dir.code, u.dir.id);
      }
    }
  }

  /** Insert-statement factory for writing a baseline's records inside a transaction, in key order. */
  recordWriter(baseline: number): (key: Buffer, r: FileRecord) => void {
    const insert = this.db.prepare(
      'INSERT INTO record (baseline, dir, name, type, mode, uid, gid, size, mtime, ctime, inode, dev, nlink, target, content) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)',
    );
    const dirId = this.dirIdFor(baseline);
    return (key, r) => {
      const { parent, name } = splitKey(key);
      insert.run(
        baseline,
        dirId(parent),
        name,
        TYPE_CODE.get(r.type) ?? 7,
        r.mode,
        r.uid,
        r.gid,
        r.size,
        r.mtime,
        r.ctime,
        r.inode,
        r.dev,
        r.nlink,
        r.target,
        r.content,
      );
    };
  }

  /** The id of a directory code in a baseline, created when new. */
  private dirIdFor(baseline: number): (code: Buffer) => number {
    const insert = this.db.prepare('INSERT INTO dir (baseline, code, id) VALUES (?,?,?)');
    const known = new Map<string, number>();
    let next = num(
      this.db.prepare('SELECT coalesce(max(id), 0) + 1 FROM dir WHERE baseline = ?').pluck().get(baseline),
    );
    return (code) => {
      const k = code.toString('latin1');
      let id = known.get(k);
      if (id === undefined) {
        const found = this.q().dirId.get(baseline, code);
        if (found !== undefined) id = num(found);
        else {
          id = next++;
          insert.run(baseline, code, id);
        }
        known.set(k, id);
      }
      return id;
    };
  }

  nextBaselineId(): number {
    return num(this.db.prepare('SELECT coalesce(max(id), 0) + 1 FROM baseline').pluck().get());
  }

  insertBaselineMeta(m: BaselineMeta): void {
    this.db
      .prepare(
        'INSERT INTO baseline (id, created_ns, label, host, policy_hash, files, bytes, root, signature, parent, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
      )
      .run(
        m.id,
        m.createdNs,
        m.label,
        m.host,
        m.policyHash,
        m.files,
        m.bytes,
        m.root,
        m.signature,
        m.parent,
        m.reason,
      );
  }

  /** Keep only the newest baseline's records (older metadata stays, for history), and give the space back. */
  pruneOldRecords(keep: number): void {
    this.db.prepare('DELETE FROM record WHERE baseline <> ?').run(keep);
    this.db.prepare('DELETE FROM dir WHERE baseline <> ?').run(keep);
  }

  /** Return free pages to the file system (the database is in incremental auto-vacuum mode). */
  vacuum(): void {
    this.db.pragma('incremental_vacuum');
  }

  copyRecords(from: number, to: number): void {
    this.db.prepare('INSERT INTO dir SELECT ?, code, id FROM dir WHERE baseline = ?').run(to, from);
    this.db
      .prepare(
        'INSERT INTO record SELECT ?, dir, name, type, mode, uid, gid, size, mtime, ctime, inode, dev, nlink, target, content FROM record WHERE baseline = ?',
      )
      .run(to, from);
  }

  deleteRecord(baseline: number, key: Buffer): void {
    const { parent, name } = splitKey(key);
    const id = this.q().dirId.get(baseline, parent);
    if (id !== undefined)
      this.db
        .prepare('DELETE FROM record WHERE baseline = ? AND dir = ? AND name = ?')
        .run(baseline, id, name);
  }

  // ---- runs and the journal ----

  startRun(kind: string, baseline: number | null, scope: string | null, startedNs: bigint): number {
    const r = this.db
      .prepare('INSERT INTO run (kind, started_ns, baseline, scope) VALUES (?,?,?,?)')
      .run(kind, startedNs, baseline, scope);
    return num(r.lastInsertRowid);
  }

  finishRun(
    id: number,
    s: {
      finishedNs: bigint;
      scanned: number;
      added: number;
      removed: number;
      changed: number;
      errors: number;
      exitCode: number;
    },
  ): void {
    this.db
      .prepare(
        'UPDATE run SET finished_ns=?, scanned=?, added=?, removed=?, changed=?, errors=?, exit_code=? WHERE id=?',
      )
      .run(s.finishedNs, s.scanned, s.added, s.removed, s.changed, s.errors, s.exitCode, id);
  }

  insertFinding(
    run: number,
    f: {
      kind: string;
      key: Buffer;
      rule: string;
      severity: string;
      detail: string;
      record: FileRecord | null;
    },
  ): number {
    const r = this.db
      .prepare('INSERT INTO finding (run, kind, key, rule, severity, detail, record) VALUES (?,?,?,?,?,?,?)')
      .run(run, f.kind, f.key, f.rule, f.severity, f.detail, f.record ? encodeRecord(f.record) : null);
    return num(r.lastInsertRowid);
  }

  updateFinding(id: number, detail: string, record: FileRecord | null): void {
    this.db
      .prepare('UPDATE finding SET detail = ?, record = ? WHERE id = ?')
      .run(detail, record ? encodeRecord(record) : null, id);
  }

  insertScanError(run: number, e: { key: Buffer; code: string; message: string }): void {
    this.db
      .prepare('INSERT INTO scan_error (run, key, code, message) VALUES (?,?,?,?)')
      .run(run, e.key, e.code, e.message);
  }

  runs(limit: number): RunRow[] {
    return (this.db.prepare('SELECT * FROM run ORDER BY id DESC LIMIT ?').all(limit) as Row[]).map((r) =>
      this.toRun(r),
    );
  }

  run(id: number): RunRow | undefined {
    const r = this.db.prepare('SELECT * FROM run WHERE id = ?').get(id) as Row | undefined;
    return r ? this.toRun(r) : undefined;
  }

  latestRun(kind: string): RunRow | undefined {
    const r = this.db
      .prepare('SELECT * FROM run WHERE kind = ? AND finished_ns IS NOT NULL ORDER BY id DESC LIMIT 1')
      .get(kind) as Row | undefined;
    return r ? this.toRun(r) : undefined;
  }

  private toRun(r: Row): RunRow {
    return {
      id: num(r.id),
      kind: String(r.kind),
      startedNs: big(r.started_ns),
      finishedNs: r.finished_ns === null ? null : big(r.finished_ns),
      baseline: r.baseline === null ? null : num(r.baseline),
      scope: r.scope === null ? null : String(r.scope),
      scanned: num(r.scanned),
      added: num(r.added),
      removed: num(r.removed),
      changed: num(r.changed),
      errors: num(r.errors),
      exitCode: r.exit_code === null ? null : num(r.exit_code),
    };
  }

  findings(run: number): StoredFinding[] {
    return (this.db.prepare('SELECT * FROM finding WHERE run = ? ORDER BY key').all(run) as Row[]).map(
      (r) => ({
        id: num(r.id),
        run: num(r.run),
        kind: String(r.kind),
        path: keyToPath(buf(r.key)!),
        rule: String(r.rule),
        severity: String(r.severity),
        detail: String(r.detail),
        record: r.record === null ? null : decodeRecord(buf(r.record)!),
      }),
    );
  }

  scanErrors(run: number): { path: Buffer; code: string; message: string }[] {
    return (this.db.prepare('SELECT * FROM scan_error WHERE run = ? ORDER BY key').all(run) as Row[]).map(
      (r) => ({
        path: keyToPath(buf(r.key)!),
        code: String(r.code),
        message: String(r.message),
      }),
    );
  }

  /** Keep the newest `keep` runs (and their findings). */
  pruneRuns(keep: number): void {
    this.db
      .prepare('DELETE FROM run WHERE id NOT IN (SELECT id FROM run ORDER BY id DESC LIMIT ?)')
      .run(keep);
  }

  // ---- what the daemon already alerted, per baseline, so it does not repeat itself ----

  reported(baseline: number): Map<string, { sig: string; finding: number | null }> {
    const m = new Map<string, { sig: string; finding: number | null }>();
    for (const r of this.db
      .prepare('SELECT key, sig, finding FROM reported WHERE baseline = ?')
      .all(baseline) as Row[]) {
      m.set(buf(r.key)!.toString('latin1'), {
        sig: buf(r.sig)!.toString('hex'),
        finding: r.finding === null ? null : num(r.finding),
      });
    }
    return m;
  }

  setReported(baseline: number, key: Buffer, sigHex: string, finding: number | null): void {
    const sig = Buffer.from(sigHex, 'hex');
    this.db
      .prepare('INSERT OR REPLACE INTO reported (baseline, key, sig, finding) VALUES (?,?,?,?)')
      .run(baseline, key, sig, finding);
  }

  clearReported(baseline: number, key: Buffer): void {
    this.db.prepare('DELETE FROM reported WHERE baseline = ? AND key = ?').run(baseline, key);
  }

  /** Carry open findings over to a new baseline (after `accept`), dropping older baselines' rows. */
  moveReported(from: number, to: number): void {
    this.db
      .prepare('INSERT OR REPLACE INTO reported SELECT ?, key, sig, finding FROM reported WHERE baseline = ?')
      .run(to, from);
    this.db.prepare('DELETE FROM reported WHERE baseline <> ?').run(to);
  }

  latestBaselineId(): number | null {
    const v = this.db.prepare('SELECT max(id) FROM baseline').pluck().get();
    return v === null || v === undefined ? null : num(v);
  }

  // ---- outbox for TCP/TLS alerts ----

  outbox(limit: number): {
    push(msg: Buffer): void;
    peek(n: number): { id: number; msg: Buffer }[];
    ack(id: number): void;
  } {
    const push = this.db.prepare('INSERT INTO outbox (msg) VALUES (?)');
    const peek = this.db.prepare('SELECT id, msg FROM outbox ORDER BY id LIMIT ?');
    const ack = this.db.prepare('DELETE FROM outbox WHERE id = ?');
    const trim = this.db.prepare('DELETE FROM outbox WHERE id <= (SELECT max(id) FROM outbox) - ?');
    return {
      push: (msg) => {
        push.run(msg);
        trim.run(limit);
      },
      peek: (n) => (peek.all(n) as Row[]).map((r) => ({ id: num(r.id), msg: buf(r.msg)! })),
      ack: (id) => {
        ack.run(id);
      },
    };
  }
}
