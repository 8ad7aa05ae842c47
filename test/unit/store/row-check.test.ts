/**
 * Tampered rows (src/store/row-check.ts and its callers): a real database is written by the store,
 * one column of one row is then edited behind its back with better-sqlite3, as an intruder or a
 * failing disk could, and the read that meets it must raise a StorageError naming the database,
 * the table, the column and the fix, not return a record cast from whatever was there.
 */
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pathToKey } from '../../../src/path-key.js';
import { Store } from '../../../src/store/store.js';
import { Sandbox } from '../../helpers/fim.js';
import { dropNotNull, expectBadColumn, record, tamper, writeBaseline } from './fixture.js';

let sb: Sandbox;
let pristine: string;
let baselineId: number;
let runId: number;

const TREE = [
  record('/srv', { type: 'dir', content: null }),
  record('/srv/app.py'),
  record('/srv/link', { type: 'symlink', target: Buffer.from('app.py'), content: null }),
  record('/srv/lib/util.py'),
];
const ONE_RECORD = "(dir, name) IN (SELECT dir, name FROM record WHERE name = CAST('app.py' AS BLOB))";

beforeAll(() => {
  sb = new Sandbox('fim-store-tamper-');
  const s = Store.open(sb.db, { create: true });
  baselineId = writeBaseline(s, TREE, { files: TREE.length });
  runId = s.transaction(() => {
    const run = s.startRun('check', baselineId, null, 1n);
    s.insertFinding(run, {
      kind: 'changed',
      key: pathToKey(Buffer.from('/srv/app.py')),
      rule: 'code',
      severity: 'high',
      detail: '{"kind":"changed"}',
      record: record('/srv/app.py', { size: 13n }),
    });
    s.insertScanError(run, { key: pathToKey(Buffer.from('/srv/secret')), code: 'EACCES', message: 'denied' });
    s.finishRun(run, {
      finishedNs: 2n,
      scanned: 4,
      added: 0,
      removed: 0,
      changed: 1,
      errors: 1,
      exitCode: 12,
    });
    s.setReported(baselineId, pathToKey(Buffer.from('/srv/app.py')), 'ab'.repeat(32), 1);
    s.outbox(10).push(Buffer.from('<13>1 - alert'));
    return run;
  });
  s.close();
  pristine = join(sb.dir, 'pristine.db');
  copyFileSync(sb.db, pristine);
});

afterAll(() => sb.cleanup());

beforeEach(() => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${sb.db}${suffix}`, { force: true });
  copyFileSync(pristine, sb.db);
});

/** Every way the store reads a table, so each case reads its table the way fim does. */
const readers: Record<string, (s: Store) => unknown> = {
  record: (s) => [...s.records(baselineId)],
  'record (scoped)': (s) => [...s.recordsUnderMany(baselineId, [pathToKey(Buffer.from('/srv'))])],
  dir: (s) => [...s.records(baselineId)],
  baseline: (s) => s.requireBaseline(),
  run: (s) => s.runs(10),
  'run (latest)': (s) => s.latestRun('check'),
  finding: (s) => s.findings(runId),
  scan_error: (s) => s.scanErrors(runId),
  reported: (s) => s.reported(baselineId),
  outbox: (s) => s.outbox(10).peek(10),
};

function withStore<T>(fn: (s: Store) => T): T {
  const s = Store.open(sb.db, { readonly: true });
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

it('the pristine database reads back whole through every reader (the cases below start from it)', () => {
  withStore((s) => {
    for (const read of Object.values(readers)) expect(() => read(s)).not.toThrow();
    expect([...s.records(baselineId)]).toHaveLength(TREE.length);
    expect(s.findings(runId)[0]?.record?.size).toBe(13n);
  });
});

// [what, reader, table, column, SQL that tampers the pristine file]
const cases: [string, string, string, string, string][] = [
  [
    'text where an integer belongs',
    'record',
    'record',
    'mode',
    `UPDATE record SET mode = 'rwxr-xr-x' WHERE ${ONE_RECORD}`,
  ],
  ['a negative size', 'record', 'record', 'size', `UPDATE record SET size = -5 WHERE ${ONE_RECORD}`],
  [
    'a negative size, read by scope',
    'record (scoped)',
    'record',
    'size',
    `UPDATE record SET size = -5 WHERE ${ONE_RECORD}`,
  ],
  ['an unknown file type', 'record', 'record', 'type', `UPDATE record SET type = 42 WHERE ${ONE_RECORD}`],
  [
    'a hash of the wrong length',
    'record',
    'record',
    'content',
    `UPDATE record SET content = X'0102' WHERE ${ONE_RECORD}`,
  ],
  [
    'a real where an integer belongs',
    'record',
    'record',
    'uid',
    `UPDATE record SET uid = 1.5 WHERE ${ONE_RECORD}`,
  ],
  [
    'a uid beyond 32 bits',
    'record',
    'record',
    'uid',
    `UPDATE record SET uid = 4294967296 WHERE ${ONE_RECORD}`,
  ],
  [
    'file-type bits in the mode',
    'record',
    'record',
    'mode',
    `UPDATE record SET mode = 33188 WHERE ${ONE_RECORD}`,
  ],
  [
    'text where a blob belongs',
    'record',
    'record',
    'target',
    "UPDATE record SET target = 'app.py' WHERE name = CAST('link' AS BLOB)",
  ],
  [
    'a name with a slash',
    'record',
    'record',
    'name',
    `UPDATE record SET name = CAST('a/b' AS BLOB) WHERE ${ONE_RECORD}`,
  ],
  ['a name as text', 'record', 'record', 'name', `UPDATE record SET name = 'app.py' WHERE ${ONE_RECORD}`],
  ['a directory id as text', 'dir', 'dir', 'id', "UPDATE dir SET id = 'one' WHERE code = X''"],
  [
    'a directory code that is not one',
    'dir',
    'dir',
    'code',
    "UPDATE dir SET code = X'ff' WHERE code = (SELECT max(code) FROM dir)",
  ],
  ['a root of the wrong length', 'baseline', 'baseline', 'root', "UPDATE baseline SET root = X'00'"],
  ['a negative file count', 'baseline', 'baseline', 'files', 'UPDATE baseline SET files = -1'],
  ['a label as a blob', 'baseline', 'baseline', 'label', "UPDATE baseline SET label = X'00'"],
  ['a start time as text', 'run', 'run', 'started_ns', "UPDATE run SET started_ns = 'soon'"],
  ['an impossible exit code', 'run (latest)', 'run', 'exit_code', 'UPDATE run SET exit_code = 999'],
  ['an unknown severity', 'finding', 'finding', 'severity', "UPDATE finding SET severity = 'urgent'"],
  ['an unknown finding kind', 'finding', 'finding', 'kind', "UPDATE finding SET kind = 'moved'"],
  ['a detail that is not JSON', 'finding', 'finding', 'detail', "UPDATE finding SET detail = 'not json'"],
  [
    'a record blob that is not one',
    'finding',
    'finding',
    'record',
    "UPDATE finding SET record = CAST('{}' AS BLOB)",
  ],
  ['a path key as text', 'scan_error', 'scan_error', 'key', "UPDATE scan_error SET key = '/srv/secret'"],
  ['a signature as text', 'reported', 'reported', 'sig', "UPDATE reported SET sig = 'abab'"],
  ['a finding id as text', 'reported', 'reported', 'finding', "UPDATE reported SET finding = 'x'"],
  ['a message as an integer', 'outbox', 'outbox', 'msg', 'UPDATE outbox SET msg = 42'],
];

describe('a tampered row is a StorageError naming its table and column', () => {
  for (const [what, reader, table, column, sql] of cases) {
    it(`${table}.${column}: ${what}`, () => {
      expect(tamper(sb.db, sql), sql).toBeGreaterThan(0);
      withStore((s) => expectBadColumn(() => readers[reader]!(s), sb.db, table, column));
    });
  }

  it('names the path of a tampered record, in display form', () => {
    tamper(sb.db, `UPDATE record SET size = -5 WHERE ${ONE_RECORD}`);
    const err = withStore((s) => expectBadColumn(() => [...s.records(baselineId)], sb.db, 'record', 'size'));
    expect(err.message).toContain('(path /srv/app.py)');
    expect(err.message).toContain('holds the integer -5');
    expect(err.message).toMatch(/run "fim baseline"/);
  });

  it('a tampered name says which directory it is in (its own path is what is in doubt)', () => {
    tamper(sb.db, `UPDATE record SET name = X'61006200' WHERE ${ONE_RECORD}`);
    const err = withStore((s) => expectBadColumn(() => [...s.records(baselineId)], sb.db, 'record', 'name'));
    expect(err.message).toContain('(in directory /srv)');
  });

  it('a journal row is fixed differently: its history cannot be rebuilt from the files', () => {
    tamper(sb.db, "UPDATE finding SET severity = 'urgent'");
    const err = withStore((s) => expectBadColumn(() => s.findings(runId), sb.db, 'finding', 'severity'));
    expect(err.message).toMatch(/history is lost/);
  });
});

describe('a NULL where none may be (the NOT NULL constraint itself removed from the schema)', () => {
  const nulls: [string, string, string][] = [
    ['record', 'mtime INTEGER', 'mtime'],
    ['baseline', 'host TEXT', 'host'],
    ['finding', 'rule TEXT', 'rule'],
  ];
  for (const [table, decl, column] of nulls) {
    it(`${table}.${column} = NULL`, () => {
      dropNotNull(sb.db, table, decl);
      const where = table === 'record' ? ` WHERE ${ONE_RECORD}` : '';
      expect(tamper(sb.db, `UPDATE ${table} SET ${column} = NULL${where}`)).toBeGreaterThan(0);
      const err = withStore((s) => expectBadColumn(() => readers[table]!(s), sb.db, table, column));
      expect(err.message).toContain('holds NULL');
    });
  }
});
