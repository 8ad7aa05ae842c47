/**
 * Running and timing one command, the page cache, and what the machine is: the parts of the scan
 * benchmark that do not depend on which tools it compares.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

export const log = (s) => process.stderr.write(`${s}\n`);

/** Quote for sh -c. */
export const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** Quote an argument for display only when the shell would need it. */
export const showArg = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : q(s));

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const TIME_BIN = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/** Largest VmHWM (kB) in the process tree under pid: the fallback when GNU time is missing. */
function treeHwmKB(pid) {
  let max = 0;
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop();
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) max = Math.max(max, Number(m[1]));
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').split(' '))
        if (c.trim()) todo.push(Number(c));
    } catch {
      // The process exited between listing and reading: nothing to add.
    }
  }
  return max;
}

/**
 * Spawn argv, wait, return { seconds, rssKB, code, stdout, stderr }. stdout is kept whole when
 * `captureStdout` (fim's JSON), else only its tail, like stderr: enough to explain a failure.
 */
export function measure(argv, { captureStdout = false } = {}) {
  const rssFile = join(tmpdir(), `fim-bench-rss-${process.pid}`);
  const full = TIME_BIN ? [TIME_BIN, '-f', '%M', '-o', rssFile, ...argv] : argv;
  const TAIL = 8192;
  return new Promise((done) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    let outTail = '';
    let err = '';
    child.stdout.on('data', (b) => {
      if (captureStdout) out.push(b);
      else outTail = (outTail + b).slice(-TAIL);
    });
    child.stderr.on('data', (b) => {
      err = (err + b).slice(-TAIL);
    });
    let polled = 0;
    const poll = TIME_BIN ? null : setInterval(() => (polled = Math.max(polled, treeHwmKB(child.pid))), 5);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (poll) clearInterval(poll);
      let rssKB = polled;
      if (TIME_BIN) {
        // GNU time prints "Command exited with non-zero status N" first when it fails.
        const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
        rssKB = Number(lines.at(-1)) || 0;
        rmSync(rssFile, { force: true });
      }
      const stdout = captureStdout ? Buffer.concat(out).toString('utf8') : outTail;
      done({ seconds, rssKB, code, stdout, stderr: err });
    });
  });
}

/** Read every regular file of the tree (one file system), so the next run starts warm. */
export function warm(tree) {
  spawnSync('sh', ['-c', `find ${q(tree)} -xdev -type f -print0 | xargs -0 cat > /dev/null 2>&1`], {
    stdio: 'ignore',
  });
}

/** Drop the page cache; returns false when the kernel does not let us. */
export function dropCaches() {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

export function isTmpfs(path) {
  const best = mountsOf()
    .filter((f) => path === f.dir || path.startsWith(`${f.dir.replace(/\/$/, '')}/`))
    .sort((a, b) => b.dir.length - a.dir.length)[0];
  return best?.type === 'tmpfs';
}

/** /proc/mounts as { dir, type }, with the octal escapes of mount points undone. */
export function mountsOf() {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.length > 2)
    .map((f) => ({
      dir: f[1].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(Number.parseInt(o, 8))),
      type: f[2],
    }));
}

/** Mount points strictly inside `dir`: the denominators (-xdev) stop there, fim and Tripwire may not. */
export function mountsUnder(dir) {
  const prefix = `${dir.replace(/\/$/, '')}/`;
  return mountsOf().filter((m) => m.dir.startsWith(prefix));
}

export function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

/** Load above 0.3 per core at start: the numbers are not worth recording. */
export const notQuiet = (load) => load[0] > 0.3 * cpus().length;

export function machine() {
  let os = '?';
  try {
    os = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '?';
  } catch {
    // No os-release: leave it unknown.
  }
  return {
    cpu: cpus()[0]?.model.trim() ?? '?',
    cores: cpus().length,
    kernel: release(),
    os,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
  };
}

export function version(cmd, args) {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`.split('\n').find((l) => l.trim()) ?? '?';
  } catch {
    return 'not installed';
  }
}
