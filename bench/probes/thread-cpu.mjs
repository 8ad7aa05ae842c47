// Each thread's CPU time at exit, from /proc/self/task/*/stat (docs/performance.md, "Tried,
// measured, not kept"): which of a command's threads used the time, V8's helper threads (its
// compilers and collectors) included. Loaded before the command; a worker thread that has already
// ended is not listed (its time is the process's, from /usr/bin/time, less these):
//   env -u NODE_EXTRA_CA_CERTS MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 \
//     --heap-growing-percent=10 --import ./bench/probes/thread-cpu.mjs bin/fim check -q --config C
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux
process.on('exit', () => {
  const threads = readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  });
  const sum = threads.reduce((a, b) => a + b, 0);
  console.error(
    `thread CPU ms (main first): ${threads.join(' ')}; sum ${sum}; uptime ${process.uptime().toFixed(2)} s`,
  );
});
