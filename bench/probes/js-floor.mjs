#!/usr/bin/env node
// The floor under fim's one-thread scan in Node (docs/performance.md, "The floor on one thread"):
// a walk that makes fim's system calls through fim's own libc bindings (dist/sys/libc.js, koffi)
// and hashes what fim hashes with the same BLAKE3 binding, and does nothing else: no policy, no
// records, no baseline rows, no comparison, no root, no database. `stat`: getdents64 of each
// directory and statx of each entry (what `check --fast` does per entry); `full`: besides, per
// regular file openat, statx of the descriptor, the reads and BLAKE3, statx again, the inode
// flags, flistxattr and close (what a baseline or a check does per file). Needs `npm run build`.
//   node bench/probes/js-floor.mjs TREE stat|full
import { readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { closeFd, getDents, inodeFlags, listXattr, openAt, statxAt, statxFd } from '../../dist/sys/libc.js';
import { decodeStatx } from '../../dist/sys/stat.js';

const [tree, mode] = process.argv.slice(2);
if (!tree || (mode !== 'stat' && mode !== 'full')) {
  console.error('usage: node bench/probes/js-floor.mjs TREE stat|full');
  process.exit(2);
}
const { Blake3Hasher } = createRequire(import.meta.url)('@napi-rs/blake-hash');
const O_DIRECTORY = 0o200000;
const O_NOFOLLOW = 0o400000;
const O_NONBLOCK = 0o4000;
const O_NOATIME = 0o1000000;
const O_CLOEXEC = 0o2000000;
const DT_DIR = 4;
const DT_REG = 8;
const hasher = new Blake3Hasher();
const readBuf = Buffer.allocUnsafe(1 << 20);
const statBuf = Buffer.alloc(256);
const dents = Buffer.alloc(32768);
const names = Buffer.alloc(1024);
let entries = 0;
let files = 0;

function walk(fd) {
  const subdirs = [];
  for (;;) {
    const r = getDents(fd, dents);
    if (!r?.ok || r.n === 0) break;
    for (let at = 0; at < r.n; ) {
      const reclen = dents.readUInt16LE(at + 16);
      const type = dents[at + 18];
      const end = dents.indexOf(0, at + 19);
      const nameZ = Buffer.from(dents.subarray(at + 19, end + 1));
      at += reclen;
      if (
        (nameZ.length === 2 && nameZ[0] === 46) ||
        (nameZ.length === 3 && nameZ[0] === 46 && nameZ[1] === 46)
      )
        continue;
      entries++;
      statxAt(fd, nameZ, statBuf);
      decodeStatx(statBuf);
      if (type === DT_DIR) subdirs.push(nameZ);
      else if (type === DT_REG && mode === 'full') hashFile(fd, nameZ);
    }
  }
  for (const name of subdirs) {
    const c = openAt(fd, name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (!c?.ok) continue;
    statxFd(c.n, statBuf);
    inodeFlags(c.n);
    walk(c.n);
    closeFd(c.n);
  }
}

function hashFile(dir, nameZ) {
  const f = openAt(dir, nameZ, O_NONBLOCK | O_NOFOLLOW | O_NOATIME | O_CLOEXEC);
  if (!f?.ok) return;
  statxFd(f.n, statBuf);
  decodeStatx(statBuf);
  hasher.reset();
  for (let pos = 0; ; ) {
    const n = readSync(f.n, readBuf, 0, readBuf.length, pos);
    if (n === 0) break;
    hasher.update(n === readBuf.length ? readBuf : readBuf.subarray(0, n));
    pos += n;
    if (n < readBuf.length) break;
  }
  hasher.digest('hex');
  statxFd(f.n, statBuf);
  decodeStatx(statBuf);
  inodeFlags(f.n);
  listXattr(f.n, names);
  closeFd(f.n);
  files++;
}

const started = performance.now();
const root = openAt(-100, Buffer.from(`${tree}\0`), O_DIRECTORY | O_CLOEXEC);
if (!root?.ok) {
  console.error(`cannot open ${tree}`);
  process.exit(1);
}
walk(root.n);
console.log(
  `${mode}: ${entries} entries, ${files} files hashed, ${(performance.now() - started).toFixed(0)} ms after start`,
);
