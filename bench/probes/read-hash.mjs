#!/usr/bin/env node
// What hashing a tree costs fim, apart from everything else (docs/performance.md, "Where a
// one-thread check's time goes"): every regular file read from the page cache in chunks of 1 MiB,
// 256, 128 and 64 KiB and hashed with the BLAKE3 binding fim uses, the read and the hash timed
// apart; 5 rounds, interleaved, the first left out, medians.
//   node bench/probes/read-hash.mjs TREE
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { Blake3Hasher } = require('@napi-rs/blake-hash');
const tree = process.argv[2];
if (!tree) {
  console.error('usage: node bench/probes/read-hash.mjs TREE');
  process.exit(2);
}
const files = [];
(function walk(d) {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.isFile()) files.push(p);
  }
})(tree);
const h = new Blake3Hasher();
const sizes = [1 << 20, 256 << 10, 128 << 10, 64 << 10];
const bufs = sizes.map((s) => Buffer.allocUnsafe(s));
const res = sizes.map(() => []);
for (let round = 0; round < 5; round++)
  for (let k = 0; k < sizes.length; k++) {
    const buf = bufs[k];
    let read = 0n;
    let hash = 0n;
    for (const f of files) {
      const fd = openSync(f, 'r');
      h.reset();
      for (let pos = 0; ; ) {
        const a = process.hrtime.bigint();
        const n = readSync(fd, buf, 0, buf.length, pos);
        const b = process.hrtime.bigint();
        read += b - a;
        if (n === 0) break;
        h.update(n === buf.length ? buf : buf.subarray(0, n));
        hash += process.hrtime.bigint() - b;
        pos += n;
        if (n < buf.length) break;
      }
      h.digest('hex');
      closeSync(fd);
    }
    res[k].push([Number(read) / 1e6, Number(hash) / 1e6]);
  }
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
sizes.forEach((s, k) => {
  const r = res[k].slice(1);
  console.log(
    `${String(s >> 10).padStart(5)} KiB chunks: read ${median(r.map((x) => x[0])).toFixed(0)} ms, hash ${median(r.map((x) => x[1])).toFixed(0)} ms (${files.length} files)`,
  );
});
