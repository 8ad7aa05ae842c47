#!/usr/bin/env node
/**
 * What the fanotify binding costs (issue 15; docs/dependencies.md, "fanotify"): koffi's per-call
 * overhead on the calls the reader makes, reading and decoding a burst of events, a directory's
 * handle (name_to_handle_at, once per covered directory at start) and an attribution (/proc reads).
 * Needs root (CAP_SYS_ADMIN) and a built dist/ (npx tsc -p tsconfig.build.json).
 *
 *   node bench/fanotify-binding.mjs [--events N]     # default 20000 file writes
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as F from '../dist/sys/fanotify.js';
import { readWho } from '../dist/watch/attribution.js';

const { values: opt } = parseArgs({ options: { events: { type: 'string', default: '20000' } } });
const N = Number(opt.events);
const us = (ms, n) => `${((ms * 1000) / n).toFixed(2)} µs`;
const time = (n, fn) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return performance.now() - t;
};

const init = F.fanInit(
  F.FAN.CLOEXEC | F.FAN.NONBLOCK | F.FAN.REPORT_FID | F.FAN.REPORT_DFID_NAME | F.FAN.REPORT_PIDFD,
);
if (!init.ok) {
  console.error(`fanotify_init failed: errno ${init.errno} (root needed)`);
  process.exit(1);
}
const fd = init.n;
const dir = mkdtempSync(join(tmpdir(), 'fim-fan-bench-'));
const dfd = openSync(dir, 'r');
F.fanMarkFilesystem(fd, dfd, true);
const buf = Buffer.alloc(64 * 1024);
const drain = () => {
  let n = 0;
  for (;;) {
    const r = F.readFd(fd, buf);
    if (!r.ok) return n;
    for (const e of F.parseEvents(buf, r.n)) {
      if (e.pidfd >= 0) F.closeFd(e.pidfd);
      n++;
    }
  }
};
drain();

const rows = [];
// 1. koffi overhead: poll(2) with a zero timeout on an idle descriptor (drained first).
const nPoll = 100_000;
rows.push([
  'poll(fd, 0) via koffi',
  us(
    time(nPoll, () => F.pollIn(fd, 0)),
    nPoll,
  ),
]);
// 2. read(2) of an empty non-blocking descriptor (EAGAIN) via koffi.
rows.push([
  'read() → EAGAIN via koffi',
  us(
    time(nPoll, () => F.readFd(fd, buf)),
    nPoll,
  ),
]);
// 3. a burst: N files written, then read and decoded (pidfds closed), per event.
mkdirSync(join(dir, 'burst'));
for (let i = 0; i < N; i++) writeFileSync(join(dir, 'burst', `f${i}`), 'x');
let events = 0;
let reads = 0;
const t3 = performance.now();
for (;;) {
  const r = F.readFd(fd, buf);
  if (!r.ok) break;
  reads++;
  for (const e of F.parseEvents(buf, r.n)) {
    if (e.pidfd >= 0) F.closeFd(e.pidfd);
    events++;
  }
}
const ms3 = performance.now() - t3;
rows.push([`read + decode + close pidfd (${events} events, ${reads} reads of 64 KiB)`, us(ms3, events)]);
// 4. parse only (the same buffer decoded again): the JS share of (3).
const one = F.parseEvents;
writeFileSync(join(dir, 'burst', 'again'), 'y');
const r4 = F.readFd(fd, buf);
const len = r4.ok ? r4.n : 0;
const per = len ? one(buf, len).length : 1;
rows.push([
  'decode only (parseEvents), per event',
  us(
    time(20_000, () => one(buf, len)),
    20_000 * per,
  ),
]);
drain();
// 5. name_to_handle_at of a directory (once per covered directory at start).
const nH = 20_000;
rows.push([
  'open + name_to_handle_at + close, per directory',
  us(
    time(nH, () => {
      const d = openSync(dir, 'r');
      F.handleOf(d);
      closeSync(d);
    }),
    nH,
  ),
]);
// 6. one attribution from /proc (status, loginuid, exe, cmdline, parent exe, cgroup).
const nW = 5_000;
rows.push([
  'readWho (one process, uncached)',
  us(
    time(nW, () => readWho(process.pid)),
    nW,
  ),
]);

const w = Math.max(...rows.map((r) => r[0].length));
console.log(`fanotify binding, ${new Date().toISOString()}, node ${process.version}`);
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
closeSync(dfd);
F.closeFd(fd);
rmSync(dir, { recursive: true });
