#!/usr/bin/env node
// Side by side: `node bench/ab.mjs [--ms] ROUNDS 'LABEL=COMMAND' ...` runs every command once per
// round, in turn (interleaved, so a machine that slows down slows all of them alike), each under
// /usr/bin/time, and prints each one's median and fastest wall time and its median peak RSS. For
// comparing builds or settings of one command (docs/performance.md, "Start and keys"); the
// tools' comparison is bench/scan.mjs. COMMAND runs under `sh -c`, its output discarded; an
// exit status other than 0, 1, 2, 4 or their OR stops the run. `--ms`: the wall times in
// milliseconds, timed here around each run (/usr/bin/time counts in 10 ms), with the lower quartile.
import { spawnSync } from 'node:child_process';

const ms = process.argv[2] === '--ms';
const args = process.argv.slice(ms ? 3 : 2);
const rounds = Number(args[0]);
const cases = args.slice(1).map((a) => {
  const i = a.indexOf('=');
  if (i <= 0) throw new Error(`not LABEL=COMMAND: ${a}`);
  return { label: a.slice(0, i), cmd: a.slice(i + 1), t: [], m: [] };
});
if (!Number.isInteger(rounds) || rounds < 1 || cases.length === 0) {
  console.error("usage: node bench/ab.mjs [--ms] ROUNDS 'LABEL=COMMAND' ...");
  process.exit(2);
}

for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    const start = performance.now();
    const res = spawnSync('/usr/bin/time', ['-f', '%x %e %M', 'sh', '-c', `${c.cmd} >/dev/null 2>&1`], {
      encoding: 'utf8',
    });
    const elapsed = performance.now() - start;
    const [code, wall, kb] = (res.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
    if (!(code >= 0 && code <= 7) || Number.isNaN(wall)) {
      console.error(`${c.label}: exit ${code}: ${res.stderr}`);
      process.exit(1);
    }
    c.t.push(ms ? elapsed : wall);
    c.m.push(kb / 1024);
  }
}

const sorted = (a) => [...a].sort((x, y) => x - y);
const median = (a) => sorted(a)[Math.floor(a.length / 2)];
for (const c of cases)
  console.log(
    ms
      ? `${c.label.padEnd(28)} median ${median(c.t).toFixed(1)} ms  p25 ${sorted(c.t)[Math.floor(c.t.length / 4)].toFixed(1)}  min ${Math.min(...c.t).toFixed(1)}   RSS ${median(c.m).toFixed(0)} MB`
      : `${c.label.padEnd(28)} median ${median(c.t).toFixed(3)} s  min ${Math.min(...c.t).toFixed(3)}   RSS ${median(c.m).toFixed(0)} MB`,
  );
