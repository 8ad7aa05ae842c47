/**
 * The connection: the only importer of better-sqlite3. Owns opening the file (creating it only when
 * asked), the pragmas, the schema and its migrations, and the mapping of SQLite's own failures
 * (locked, disk full, not a database) to a StorageError that says what to do.
 *
 * It must not half-trust anything: a file that is not a fim database, or one from a newer fim, is
 * refused rather than read as empty (an empty baseline would report every file as added and bury a
 * real intrusion in noise). It knows no table but through the migrations: reading and writing rows
 * is the business of the table modules beside it.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { errnoCode, NoBaselineError, StorageError } from '../errors.js';

/** An open database, for the table modules; they never import better-sqlite3 themselves. */
export type Db = Database.Database;
export type Statement = Database.Statement;

/** What every table module needs: the connection and its file name (for messages). */
export interface Connection {
  readonly db: Db;
  readonly file: string;
}

export const SCHEMA_VERSION = 4;
const APPLICATION_ID = 0x46494d31; // "FIM1": marks the file as ours

/** Each entry takes a database from its index to the next version (exported for the upgrade tests). */
export const MIGRATIONS: readonly string[] = [
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
  // 1 → 2: the policy texts a baseline was made under (JSON [{file, text}]), so a later check can
  // say how coverage changed; their hash is the baseline's policy_hash, bound into its root.
  `
  CREATE TABLE baseline_policy (baseline INTEGER PRIMARY KEY, sources BLOB NOT NULL);
  `,
  // 2 → 3: the chain of alert sessions (store/chain.ts): each session's kind, its last sequence
  // number and the digest of its last message, so the next session's start can name them.
  `
  CREATE TABLE alert_session (
    id INTEGER PRIMARY KEY,
    sid TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    started_ns INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    last_digest TEXT NOT NULL
  );
  `,
  // 3 → 4: SHA-256 and what lies beyond lstat (capabilities, ACLs, SELinux label, other xattrs,
  // inode flags), and each baseline's root format (src/fields.ts): older baselines keep format 1,
  // whose root covers none of the new columns, and verify as they did.
  `
  ALTER TABLE record ADD COLUMN sha256 BLOB;
  ALTER TABLE record ADD COLUMN caps BLOB;
  ALTER TABLE record ADD COLUMN acl BLOB;
  ALTER TABLE record ADD COLUMN selinux BLOB;
  ALTER TABLE record ADD COLUMN xattrs BLOB;
  ALTER TABLE record ADD COLUMN flags BLOB;
  ALTER TABLE baseline ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
  `,
];

export interface OpenOptions {
  /** Create the file (and its directory) when missing; otherwise a missing file is NoBaselineError. */
  create?: boolean;
  readonly?: boolean;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A pragma's integer value (integers come back as bigint: the connection uses safe integers). */
function pragmaInt(db: Db, name: string): number {
  const v: unknown = db.pragma(name, { simple: true });
  if (typeof v === 'bigint' || typeof v === 'number') return Number(v);
  throw new StorageError(`pragma ${name} returned ${typeof v}, not an integer`);
}

/** Open (or, with `create`, create) a fim database, set it up and bring its schema up to date. */
export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  const readonly = opts.readonly ?? false;
  const fresh = !existsSync(file);
  if (fresh) {
    if (!opts.create) throw new NoBaselineError(file);
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new StorageError(`cannot create the database directory for ${file}: ${messageOf(err)}`, {
        cause: err,
      });
    }
  }
  let db: Db;
  try {
    db = new Database(file, { readonly, fileMustExist: !opts.create, timeout: 5000 });
  } catch (err) {
    throw new StorageError(`cannot open database ${file}: ${messageOf(err)}`, { cause: err });
  }
  try {
    // Nanosecond times exceed 2^53: every integer comes back as a bigint, and the table modules
    // check that it did (anything else in an INTEGER column is a tampered or corrupt row).
    db.defaultSafeIntegers(true);
    // better-sqlite3 builds SQLite with a 16 MB page cache; baselines are read and written in one
    // sequential pass, so a small cache costs nothing and keeps memory flat as the tree grows.
    db.pragma('cache_size = -2000');
    if (!readonly) {
      // A new file only, and before WAL mode is set (it cannot change later): lets a new
      // baseline give back to the file system the pages the previous one used.
      if (fresh) db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      // A baseline or a journaled finding must survive a power cut once we said it was stored.
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = ON');
    migrate(db, file, readonly);
  } catch (err) {
    db.close();
    if (err instanceof StorageError) throw err;
    if (errnoCode(err) === 'SQLITE_BUSY') {
      throw new StorageError(`database ${file} is locked by another process; retry when it is done`, {
        cause: err,
      });
    }
    throw new StorageError(
      `${file} is not a usable fim database (${messageOf(err)}); move it aside and run "fim baseline"`,
      { cause: err },
    );
  }
  return db;
}

function migrate(db: Db, file: string, readonly: boolean): void {
  const appId = pragmaInt(db, 'application_id');
  const version = pragmaInt(db, 'user_version');
  const tables = Number(db.prepare('SELECT count(*) FROM sqlite_master').pluck().get());
  if (appId !== APPLICATION_ID && (appId !== 0 || tables > 0)) {
    throw new StorageError(`${file} is a SQLite file but not a fim database; refusing to use it`);
  }
  if (version > SCHEMA_VERSION) {
    throw new StorageError(
      `${file} has schema version ${version}, newer than this fim understands (${SCHEMA_VERSION}): upgrade fim`,
    );
  }
  if (version === SCHEMA_VERSION) return;
  if (readonly) throw new StorageError(`${file} needs a schema upgrade; open it read-write once`);
  db.transaction(() => {
    for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

/** Run `fn` in one write transaction (BEGIN IMMEDIATE: fail fast when another writer holds it). */
export function writeTransaction<T>(c: Connection, fn: () => T): T {
  try {
    return c.db.transaction(fn).immediate();
  } catch (err) {
    const code = errnoCode(err) ?? '';
    if (code.startsWith('SQLITE_')) {
      const hint =
        code === 'SQLITE_BUSY'
          ? 'another fim process holds the database; retry when it is done'
          : code === 'SQLITE_FULL'
            ? 'the disk is full; free space and retry'
            : messageOf(err);
      throw new StorageError(`database ${c.file}: ${hint}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Run `fn` in one read transaction: every read in it sees one snapshot of the database (WAL),
 * whatever other connections commit meanwhile. A check that verifies the baseline and then
 * compares with it reads the same rows both times: without it, a row edited between the two
 * reads would be compared without ever having been verified. Inside a transaction already, `fn`
 * runs in that one.
 */
export function readTransaction<T>(c: Connection, fn: () => T): T {
  if (c.db.inTransaction) return fn();
  return c.db.transaction(fn).deferred();
}

/** Return free pages to the file system (a database fim created is in incremental auto-vacuum mode). */
export function incrementalVacuum(c: Connection): void {
  c.db.pragma('incremental_vacuum');
}

/**
 * A SQLite file that is not a fim database (verify-log's state on the log server): its own
 * application id and migrations, the same pragmas and the same refusals (another program's file,
 * or one from a newer fim).
 */
export interface FileKind {
  /** What the file is, for messages ("verify-log state file"). */
  readonly name: string;
  readonly applicationId: number;
  /** MIGRATIONS-style: entry v takes the schema from version v to v + 1. */
  readonly migrations: readonly string[];
  /** What to tell the user to do with a file that cannot be used. */
  readonly fix: string;
}

/** The SQLite header's write and read format bytes: 2 means WAL, 1 the rollback journal. */
const FORMAT_BYTES = [18, 19] as const;

/**
 * Opens a file of `kind` for reading only, leaving nothing beside it: a WAL-mode file opened by
 * SQLite, even read-only, gets a -wal and a -shm file made by whoever opens it (root's, beside a log
 * server's state the verifier must write), and this build of SQLite takes no URI (immutable=1).
 * So: while a -wal file exists (a writer has the file open, or died), the file itself is opened
 * read-only, and the writer's -wal and -shm are read, not made; otherwise everything is in the
 * main file, and a copy of it is read from memory (marked as a rollback-journal file: an
 * in-memory database has no WAL). The caller checks that the file exists (and says what to do).
 */
export function openFileOfKindReadonly(file: string, kind: FileKind): Db {
  let db: Db;
  try {
    if (existsSync(`${file}-wal`))
      db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
    else {
      const copy = readFileSync(file);
      for (const i of FORMAT_BYTES) if (copy.length > i && copy[i] === 2) copy[i] = 1;
      db = new Database(copy, { readonly: true });
    }
  } catch (err) {
    throw new StorageError(`cannot read the ${kind.name} ${file}: ${errnoCode(err) ?? messageOf(err)}`, {
      cause: err,
    });
  }
  try {
    db.defaultSafeIntegers(true);
    const version = checkKind(db, file, kind);
    if (version < kind.migrations.length)
      throw new StorageError(
        `${file} is a ${kind.name} of an older fim (version ${version}): run the new fim verify-log on it once (it upgrades the file)`,
      );
  } catch (err) {
    db.close();
    throw usable(err, file, kind);
  }
  return db;
}

/** The file's kind version, after refusing another program's file or a newer fim's. */
function checkKind(db: Db, file: string, kind: FileKind): number {
  const appId = pragmaInt(db, 'application_id');
  const version = pragmaInt(db, 'user_version');
  const tables = Number(db.prepare('SELECT count(*) FROM sqlite_master').pluck().get());
  if (appId !== kind.applicationId && (appId !== 0 || tables > 0))
    throw new StorageError(`${file} is a SQLite file but not a ${kind.name}; ${kind.fix}`);
  if (version > kind.migrations.length)
    throw new StorageError(
      `${file} has ${kind.name} version ${version}, newer than this fim understands: upgrade fim`,
    );
  return version;
}

/** SQLite's own failures on a file of `kind`, as a StorageError that says what to do. */
function usable(err: unknown, file: string, kind: FileKind): StorageError {
  if (err instanceof StorageError) return err;
  if (errnoCode(err) === 'SQLITE_BUSY')
    return new StorageError(`the ${kind.name} ${file} is locked by another process; retry when it is done`, {
      cause: err,
    });
  return new StorageError(`${file} is not a usable ${kind.name} (${messageOf(err)}); ${kind.fix}`, {
    cause: err,
  });
}

export function openFileOfKind(file: string, kind: FileKind): Db {
  const fresh = !existsSync(file);
  let db: Db;
  try {
    if (fresh) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    db = new Database(file, { timeout: 5000 });
  } catch (err) {
    throw new StorageError(`cannot open the ${kind.name} ${file}: ${messageOf(err)}`, { cause: err });
  }
  try {
    db.defaultSafeIntegers(true);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const version = checkKind(db, file, kind);
    const target = kind.migrations.length;
    if (version < target)
      db.transaction(() => {
        for (let v = version; v < target; v++) db.exec(kind.migrations[v]!);
        db.pragma(`application_id = ${kind.applicationId}`);
        db.pragma(`user_version = ${target}`);
      })();
  } catch (err) {
    db.close();
    throw usable(err, file, kind);
  }
  return db;
}
