/**
 * A check's baseline rows read by a second process (ops/row-stream.ts, ops/row-process.ts), on a
 * real tree and a real SQLite file: the same records as the store gives, in key order; a stream
 * that ends only after the root check, so an edited row fails it; a baseline made since the check's
 * snapshot, or a reader that cannot start, leaves the rows to this process; a reader that stops
 * mid-stream is an error, never a shorter stream. From dist/ (the reader is the built bundle).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, Sandbox } from '../../helpers/fim.js';
import { meta, record, writeBaseline } from '../store/fixture.js';

const dist = async <T>(p: string): Promise<T> => (await import(join(ROOT, 'dist', p))) as T;
const { createBaseline } = await dist<typeof import('../../../src/ops/baseline.js')>('ops/baseline.js');
const { RowReader } = await dist<typeof import('../../../src/ops/row-stream.js')>('ops/row-stream.js');
const { runCheck } = await dist<typeof import('../../../src/ops/check.js')>('ops/check.js');
const { loadPolicies } = await dist<typeof import('../../../src/policy/policy.js')>('policy/policy.js');
const { Store } = await dist<typeof import('../../../src/store/store.js')>('store/store.js');
const { RootBuilder } = await dist<typeof import('../../../src/store/root.js')>('store/root.js');
const { pathToKey } = await dist<typeof import('../../../src/path-key.js')>('path-key.js');
const { presentValue } = await dist<typeof import('../../../src/extended/value.js')>('extended/value.js');
type Store = import('../../../src/store/store.js').Store;

const fixture = (name: string) => pathToFileURL(join(ROOT, 'test/fixtures', name));

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox('fim-row-stream-');
  for (let d = 0; d < 6; d++)
    for (let f = 0; f < 40; f++) sb.write(`srv/d${d}/f${f}.py`, `${d} ${f}\n`.repeat(f + 1));
  sb.policy('  - name: code\n    severity: high\n    paths: ["{tree}/srv"]\n    check: readonly\n');
});
afterEach(async () => {
  await sb[Symbol.asyncDispose]();
});

const policy = () => loadPolicies([sb.policyFile]);

function baseline(label = 'b'): void {
  const store = Store.open(sb.db, { create: true });
  try {
    createBaseline({ store, policy: policy(), host: 'h', label });
  } finally {
    store.close();
  }
}

/** Each record as comparable text: key, then every field by name (bigints and Buffers as text). */
const text = (rs: Iterable<{ key: Buffer; record: object }>) =>
  [...rs].map((r) => {
    const fields = Object.fromEntries(Object.entries(r.record).sort(([a], [b]) => a.localeCompare(b)));
    return `${r.key.toString('hex')} ${JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;
  });

/** The reader's records of the newest baseline, in `store`'s read transaction. */
function readAll(store: Store, script?: URL): string[] {
  return store.readTransaction(() => {
    const reader = script ? RowReader.start(store.file, script) : RowReader.start(store.file);
    if (!reader) throw new Error('no reader');
    return text(reader.records(store, store.requireBaseline()));
  });
}

function edit(sql: string): void {
  const db = new Database(sb.db);
  expect(db.prepare(sql).run().changes).toBe(1);
  db.close();
}

const ONE_ROW =
  "name = CAST('f7.py' AS BLOB) AND dir = (SELECT id FROM dir WHERE code = (SELECT max(code) FROM dir))";

describe('rows read by a second process', () => {
  it('are the store own records, in key order, field for field', () => {
    baseline();
    const store = Store.open(sb.db);
    try {
      const own = store.readTransaction(() => text(store.records(store.requireBaseline().id)));
      expect(own.length).toBe(6 * 40 + 7);
      expect(readAll(store)).toEqual(own);
    } finally {
      store.close();
    }
  });

  it.each([
    ['an edited mode', `UPDATE record SET mode = mode + 1 WHERE ${ONE_ROW}`, /fails its integrity check/],
    [
      'a size that is no size',
      `UPDATE record SET size = -5 WHERE ${ONE_ROW}`,
      /column size \(path .*f7\.py\)/,
    ],
    ['a record less', `DELETE FROM record WHERE ${ONE_ROW}`, /fails its integrity check/],
  ])('fail at their end on %s: the root check is the reader last word', (_what, sql, message) => {
    baseline();
    edit(sql);
    const store = Store.open(sb.db);
    try {
      let thrown: unknown;
      try {
        readAll(store);
      } catch (err) {
        thrown = err;
      }
      expect((thrown as Error).name).toBe('BaselineIntegrityError');
      expect((thrown as { exitCode: number }).exitCode).toBe(18);
      expect((thrown as Error).message).toMatch(message);
    } finally {
      store.close();
    }
  });

  it.each([1, 2, 3] as const)(
    'of a baseline in root format %i verify in that format, and an edit fails them',
    (format) => {
      const rs = [
        record('/srv/a'),
        record('/srv/b', { caps: presentValue(Buffer.from('01', 'hex')) }),
        record('/srv/d/x', { mtime: 10413792000000000001n }),
      ];
      const m = meta(1, { files: rs.length, format });
      const root = new RootBuilder(format);
      for (const r of rs) root.add(pathToKey(r.path), r);
      m.root = root.finish(m);
      const store = Store.open(sb.db, { create: true });
      try {
        writeBaseline(store, rs, m);
        const own = store.readTransaction(() => text(store.records(1)));
        expect(readAll(store)).toEqual(own);
      } finally {
        store.close();
      }
      // Format 1's root does not cover caps (format 2 added it): edit what every format covers.
      edit("UPDATE record SET uid = uid + 1 WHERE name = CAST('x' AS BLOB)");
      const again = Store.open(sb.db);
      try {
        expect(() => readAll(again)).toThrow(/fails its integrity check/);
      } finally {
        again.close();
      }
    },
  );

  it('come from this snapshot when a baseline was made after it (the reader sees another)', () => {
    baseline('first');
    const store = Store.open(sb.db);
    try {
      const own = store.readTransaction(() => text(store.records(store.requireBaseline().id)));
      sb.write('srv/d0/new.py', 'new\n');
      const got = store.readTransaction(() => {
        const meta = store.requireBaseline();
        baseline('second'); // committed by another connection: this snapshot still has "first"
        const reader = RowReader.start(store.file);
        if (!reader) throw new Error('no reader');
        return text(reader.records(store, meta));
      });
      expect(got).toEqual(own);
    } finally {
      store.close();
    }
  });

  it('come from this process when the reader ends before its first frame', () => {
    baseline();
    const store = Store.open(sb.db);
    try {
      const own = store.readTransaction(() => text(store.records(store.requireBaseline().id)));
      expect(readAll(store, fixture('row-reader-exits.mjs'))).toEqual(own);
      expect(RowReader.start(store.file, fixture('no-such-reader.mjs'))).toBeNull();
    } finally {
      store.close();
    }
  });

  it('are an error, not fewer records, when the reader stops before its end', () => {
    baseline();
    const store = Store.open(sb.db);
    try {
      expect(() => readAll(store, fixture('row-reader-stops.mjs'))).toThrow(/stopped before it was done/);
    } finally {
      store.close();
    }
  });

  it('give a --fast check the findings one process finds', () => {
    baseline();
    sb.write('srv/d1/f3.py', 'changed\n');
    sb.write('srv/d2/added.py', 'added\n');
    rmSync(sb.path('srv/d4/f9.py'));
    const run = (reader: boolean) => {
      const store = Store.open(sb.db);
      try {
        const r = runCheck({
          store,
          policy: policy(),
          fast: true,
          rowReader: reader ? RowReader.start(store.file) : null,
        });
        return { exit: r.exitCode, findings: r.findings.map((f) => `${f.kind} ${f.path}`) };
      } finally {
        store.close();
      }
    };
    const one = run(false);
    // In key order: /srv's entries first (the two directories whose entries changed), then theirs.
    expect(one.findings).toEqual([
      `changed ${sb.path('srv/d2')}`,
      `changed ${sb.path('srv/d4')}`,
      `changed ${sb.path('srv/d1/f3.py')}`,
      `added ${sb.path('srv/d2/added.py')}`,
      `removed ${sb.path('srv/d4/f9.py')}`,
    ]);
    expect(run(true)).toEqual(one);
  });
});
