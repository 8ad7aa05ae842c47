/**
 * Opening and migrating (src/store/db.ts): a database of the current schema opens as it is, a new
 * one gets the schema and fim's marks, and anything fim cannot fully trust is refused with a
 * StorageError that leaves the file as it was.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ExitCode, NoBaselineError, StorageError } from '../../../src/errors.js';
import { MIGRATIONS, openDatabase, SCHEMA_VERSION } from '../../../src/store/db.js';
import { Store } from '../../../src/store/store.js';
import { Sandbox } from '../../helpers/fim.js';
import { record, writeBaseline } from './fixture.js';

const FIM1 = 0x46494d31;

function pragmas(file: string): { appId: number; version: number; tables: string[] } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      appId: db.pragma('application_id', { simple: true }) as number,
      version: db.pragma('user_version', { simple: true }) as number,
      tables: (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
          name: string;
        }[]
      ).map((t) => t.name),
    };
  } finally {
    db.close();
  }
}

function refusal(open: () => unknown): StorageError {
  let thrown: unknown;
  try {
    open();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(StorageError);
  expect((thrown as StorageError).exitCode).toBe(ExitCode.storage);
  return thrown as StorageError;
}

describe('openDatabase', () => {
  it('creates a new database with the current schema, marked as fim', async () => {
    await using sb = new Sandbox('fim-store-db-');
    openDatabase(sb.db, { create: true }).close();
    const p = pragmas(sb.db);
    expect(p.appId).toBe(FIM1);
    expect(p.version).toBe(SCHEMA_VERSION);
    expect(p.tables).toEqual([
      'alert_session',
      'baseline',
      'baseline_policy',
      'dir',
      'finding',
      'outbox',
      'record',
      'reported',
      'run',
      'scan_error',
    ]);
  });

  it('opens a database of the current schema as it is, read-write and read-only, data intact', async () => {
    await using sb = new Sandbox('fim-store-db-');
    const s = Store.open(sb.db, { create: true });
    const id = writeBaseline(s, [record('/etc/passwd')]);
    s.close();
    const before = readFileSync(sb.db);
    for (const readonly of [false, true]) {
      const again = Store.open(sb.db, { readonly });
      expect(again.latestBaseline()?.id).toBe(id);
      expect([...again.records(id)].map((r) => r.record.path.toString())).toEqual(['/etc/passwd']);
      again.close();
    }
    expect(pragmas(sb.db).version).toBe(SCHEMA_VERSION);
    expect(readFileSync(sb.db).length).toBe(before.length);
  });

  it('refuses a database from a future schema version, telling to upgrade fim, and leaves it so', async () => {
    await using sb = new Sandbox('fim-store-db-');
    Store.open(sb.db, { create: true }).close();
    const db = new Database(sb.db);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    for (const opts of [{}, { readonly: true }, { create: true }]) {
      const err = refusal(() => Store.open(sb.db, opts));
      expect(err.message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
      expect(err.message).toMatch(/upgrade fim/);
    }
    expect(pragmas(sb.db).version).toBe(SCHEMA_VERSION + 1);
  });

  it("refuses a SQLite file that is not fim's, without adding fim's tables to it", async () => {
    await using sb = new Sandbox('fim-store-db-');
    const db = new Database(sb.db);
    db.exec('CREATE TABLE notes (body TEXT)');
    db.close();
    const err = refusal(() => Store.open(sb.db, { create: true }));
    expect(err.message).toMatch(/not a fim database/);
    expect(pragmas(sb.db)).toEqual({ appId: 0, version: 0, tables: ['notes'] });
  });

  it('refuses a file that is not SQLite at all, naming it and the fix', async () => {
    await using sb = new Sandbox('fim-store-db-');
    writeFileSync(sb.db, Buffer.alloc(8192, 0x41));
    const err = refusal(() => Store.open(sb.db, { create: true }));
    expect(err.message).toContain(sb.db);
    expect(err.message).toMatch(/not a usable fim database.*fim baseline/);
    expect(readFileSync(sb.db).equals(Buffer.alloc(8192, 0x41))).toBe(true);
  });

  it('a missing file is "no baseline" unless asked to create it', async () => {
    await using sb = new Sandbox('fim-store-db-');
    expect(() => openDatabase(sb.db)).toThrow(NoBaselineError);
    expect(() => openDatabase(sb.db, { readonly: true })).toThrow(NoBaselineError);
  });

  it('an empty SQLite file needs its schema written: refused read-only, migrated read-write', async () => {
    await using sb = new Sandbox('fim-store-db-');
    new Database(sb.db).close();
    expect(refusal(() => Store.open(sb.db, { readonly: true })).message).toMatch(/schema upgrade/);
    Store.open(sb.db).close();
    expect(pragmas(sb.db).version).toBe(SCHEMA_VERSION);
  });
});

describe('Store.transaction', () => {
  it('commits all or nothing: an error inside leaves the previous baseline alone', async () => {
    await using sb = new Sandbox('fim-store-db-');
    const s = Store.open(sb.db, { create: true });
    const first = writeBaseline(s, [record('/a')]);
    expect(() =>
      s.transaction(() => {
        writeBaseline(s, [record('/b')]);
        throw new Error('interrupted');
      }),
    ).toThrow('interrupted');
    expect(s.latestBaselineId()).toBe(first);
    expect([...s.records(first)]).toHaveLength(1);
    s.close();
  });

  it('maps a constraint failure to a StorageError naming the database', async () => {
    await using sb = new Sandbox('fim-store-db-');
    const s = Store.open(sb.db, { create: true });
    writeBaseline(s, [record('/a')]);
    const err = refusal(() => s.transaction(() => writeBaseline(s, [record('/b')], { id: 1 })));
    expect(err.message).toContain(sb.db);
    s.close();
  });
});

describe('schema upgrades', () => {
  /** A database as fim at schema `version` wrote it: exactly the migrations up to it. */
  function databaseAt(file: string, version: number): Database.Database {
    const raw = new Database(file);
    for (let v = 0; v < version; v++) raw.exec(MIGRATIONS[v]!);
    raw.pragma(`user_version = ${version}`);
    raw.pragma('application_id = 1179209009');
    return raw;
  }

  it('takes a version-1 database (fim 0.1) to the current schema and keeps its data', async () => {
    await using sb = new Sandbox('fim-store-up-');
    const raw = databaseAt(sb.db, 1);
    raw.prepare("INSERT INTO outbox (msg) VALUES (x'01')").run();
    raw.close();
    openDatabase(sb.db).close();
    expect(pragmas(sb.db).version).toBe(SCHEMA_VERSION);
    expect(pragmas(sb.db).tables).toContain('baseline_policy');
    expect(pragmas(sb.db).tables).toContain('alert_session');
    const again = new Database(sb.db, { readonly: true });
    expect(again.prepare('SELECT count(*) AS n FROM outbox').get()).toEqual({ n: 1 });
    again.close();
  });

  it('3 -> 4: adds the attribute columns, and an older baseline keeps root format 1', async () => {
    await using sb = new Sandbox('fim-store-up-');
    const raw = databaseAt(sb.db, 3);
    raw
      .prepare(
        "INSERT INTO baseline (id, created_ns, label, host, policy_hash, files, bytes, root, reason) VALUES (1, 1, 'old', 'h', zeroblob(32), 0, 0, zeroblob(32), 'baseline')",
      )
      .run();
    raw.close();
    const s = Store.open(sb.db);
    expect(s.latestBaseline()?.format).toBe(1);
    s.close();
    const cols = new Database(sb.db, { readonly: true });
    const names = (cols.prepare('PRAGMA table_info(record)').all() as { name: string }[]).map((c) => c.name);
    cols.close();
    expect(names).toEqual(expect.arrayContaining(['sha256', 'caps', 'acl', 'selinux', 'xattrs', 'flags']));
  });
});
