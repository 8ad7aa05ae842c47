#!/usr/bin/env node
// What reading a baseline's records back costs (docs/performance.md, "The floor on one thread"):
// `Store.records()` of the newest baseline of DATABASE, as a check reads it (pages of a
// directory's rows, decoded and checked), and the same rows by better-sqlite3 alone (`.all()` of
// each directory's page, nothing decoded); 6 rounds each, every round printed. Needs `npm run
// build`. BUILD: another build's folder to time its Store instead (default: this one).
//   node bench/probes/rows.mjs DATABASE [BUILD]
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [db, build] = process.argv.slice(2);
if (!db) {
  console.error('usage: node bench/probes/rows.mjs DATABASE [BUILD]');
  process.exit(2);
}
const root = resolve(build ?? new URL('../..', import.meta.url).pathname);
const { Store } = await import(pathToFileURL(`${root}/dist/store/store.js`).href);
const store = Store.open(db, { readonly: true });
const baseline = store.latestBaseline();
if (!baseline) {
  console.error(`${db}: no baseline`);
  process.exit(1);
}
const { RECORD_COLUMNS } = await import(pathToFileURL(`${root}/dist/store/record-codec.js`).href);
const Database = createRequire(import.meta.url)('better-sqlite3');
const raw = new Database(db, { readonly: true });
raw.defaultSafeIntegers(true);
const cols = RECORD_COLUMNS.join(', ');
const dirs = raw.prepare('SELECT id FROM dir WHERE baseline = ? ORDER BY code').pluck().all(baseline.id);
const page = raw
  .prepare(`SELECT name, ${cols} FROM record WHERE baseline = ? AND dir = ? ORDER BY name LIMIT 128`)
  .raw(true);
const time = (f) => {
  const t = performance.now();
  const n = f();
  return [performance.now() - t, n];
};
for (let round = 0; round < 6; round++) {
  const [a, n] = time(() => {
    let k = 0;
    for (const _ of store.records(baseline.id)) k++;
    return k;
  });
  // Only the first page of each directory: enough to time the values, not a full read of a large one.
  const [b] = time(() => dirs.reduce((k, id) => k + page.all(baseline.id, id).length, 0));
  console.log(
    `Store.records(): ${n} records in ${a.toFixed(0)} ms; better-sqlite3 .all() pages: ${b.toFixed(0)} ms`,
  );
}
