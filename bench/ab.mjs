#!/usr/bin/env node
// Side by side: `node bench/ab.mjs ROUNDS 'LABEL=COMMAND' ...` runs every command once per round,
// in turn (interleaved, so a machine that slows down slows all of them alike), each under
// /usr/bin/time, and prints each one's median and fastest wall time and its median peak RSS. For
// comparing builds or settings of one command (docs/performance.md, "Start and keys"); the
// tools' comparison is bench/scan.mjs. COMMAND runs under `sh -c`, its output discarded; an
// exit status other than 0, 1, 2, 4 or their OR stops the run.
import { spawnSync } from 'node:child_process';

const rounds = Number(process.argv[2]);
const cases = process.argv.slice(3).map((a) => {
  const i = a.indexOf('=');
  if (i <= 0) throw new Error(`not LABEL=COMMAND: ${a}`);
  return { label: a.slice(0, i), cmd: a.slice(i + 1), t: [], m: [] };
});
if (!Number.isInteger(rounds) || rounds < 1 || cases.length === 0) {
  console.error("usage: node bench/ab.mjs ROUNDS 'LABEL=COMMAND' ...");
  process.exit(2);
}

for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    const res = spawnSync('/usr/bin/time', ['-f', '%x %e %M', 'sh', '-c', `${c.cmd} >/dev/null 2>&1`], {
      encoding: 'utf8',
    });
    const [code, wall, kb] = (res.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
    if (!(code >= 0 && code <= 7) || Number.isNaN(wall)) {
      console.error(`${c.label}: exit ${code}: ${res.stderr}`);
      process.exit(1);
    }
    c.t.push(wall);
    c.m.push(kb / 1024);
  }
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const c of cases)
  console.log(
    `${c.label.padEnd(28)} median ${median(c.t).toFixed(3)} s  min ${Math.min(...c.t).toFixed(3)}   RSS ${median(c.m).toFixed(0)} MB`,
  );
