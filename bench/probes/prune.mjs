#!/usr/bin/env node
// What dropping the oldest baseline's records costs (docs/performance.md, "Pruning by ranges"):
// DATABASE is copied aside 3 times for each way, and in each copy the records and directories of
// every baseline but the newest KEEP (default: all but one) are deleted in one transaction, as
// `fim baseline` does once the new one is written: by `NOT IN` the kept ids (as fim did until the
// session of 2026-12-02 18:36 UTC) and by the built Store's own `pruneOldRecords` (ranges of the
// primary key between them, since). The database itself is not touched. Needs `npm run build`.
//   node bench/probes/prune.mjs DATABASE [KEEP]
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [src, keepArg] = process.argv.slice(2);
if (!src) {
  console.error('usage: node bench/probes/prune.mjs DATABASE [KEEP]');
  process.exit(2);
}
const Database = createRequire(import.meta.url)('better-sqlite3');
const { Store } = await import(new URL('../../dist/store/store.js', import.meta.url).href);
const probe = new Database(src, { readonly: true });
const ids = probe.prepare('SELECT DISTINCT baseline FROM dir ORDER BY baseline').pluck().all();
probe.close();
const keep = Number(keepArg ?? ids.length - 1);
const dir = mkdtempSync(join(tmpdir(), 'fim-prune-'));
const copy = join(dir, 'copy.db');
const ways = {
  'NOT IN': (db, newest) => {
    const kept = '(SELECT id FROM baseline ORDER BY id DESC LIMIT ?)';
    for (const t of ['record', 'dir'])
      db.prepare(`DELETE FROM ${t} WHERE baseline <> ? AND baseline NOT IN ${kept}`).run(newest, keep);
  },
  ranges: 'Store',
};
try {
  for (let round = 0; round < 3; round++)
    for (const [name, prune] of Object.entries(ways)) {
      copyFileSync(src, copy);
      rmSync(`${copy}-wal`, { force: true });
      rmSync(`${copy}-shm`, { force: true });
      let ms;
      if (prune === 'Store') {
        const store = Store.open(copy);
        const newest = store.latestBaseline().id;
        const t = performance.now();
        store.transaction(() => store.pruneOldRecords(newest, keep));
        ms = performance.now() - t;
        store.close();
      }
      const db = new Database(copy);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      if (prune !== 'Store') {
        const newest = db.prepare('SELECT max(id) FROM baseline').pluck().get();
        const t = performance.now();
        db.transaction(() => prune(db, newest))();
        ms = performance.now() - t;
      }
      const left = db.prepare('SELECT count(*) FROM record').pluck().get();
      console.log(
        `${name.padEnd(6)} ${ms.toFixed(1)} ms (${left} records left, the newest ${keep} baselines)`,
      );
      db.close();
    }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
