#!/usr/bin/env node
/**
 * Scan benchmark (issue 7): fim against b3sum, AIDE and Tripwire on the same generated tree.
 *
 *   npm run bench -- [--scale 1] [--runs 3] [--only fim,b3sum,aide,tripwire] [--json]
 *                    [--warm-only] [--no-install] [--dir DIR] [--seed 1]
 *   npm run bench -- --scales 0.1,1,4 [--runs N] [--only fim]      growth of fim's time and memory
 *
 * See docs/performance.md for what every column means and the targets.
 *
 * Method, and why:
 * - Every tool is a separate process timed from spawn to exit (wall clock), node start-up included
 *   for fim: that is what a user waits for.
 * - Peak RSS comes from GNU time (%M, the largest resident set of the process or of its largest
 *   descendant), else from polling VmHWM in /proc for the process tree.
 * - Warm: the whole tree is read (find | xargs cat) before EVERY warm run, because Tripwire drops
 *   each file from the page cache after hashing it and would otherwise make the next tool cold.
 * - Cold: `sync; echo 3 > /proc/sys/vm/drop_caches` before every cold run, when permitted.
 * - Runs are interleaved (all tools in run 1, then all in run 2, ...) so that drift in the machine's
 *   load hits every tool alike; the table shows medians.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generate, hasCommand } from './gen-tree.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIM = join(ROOT, 'bin/fim');
const ALL_TOOLS = ['fim', 'b3sum', 'aide', 'tripwire'];

// Targets from issue 7 (scale 1, warm cache, ratios from the same run).
const TARGET = { baselineVsB3: 1.2, checkVsB3: 1.3, rssMB: 120, dbBytesPerFile: 150 };

const log = (s) => process.stderr.write(`${s}\n`);
/** Quote for sh -c. */
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// --- options --------------------------------------------------------------------------------
const { values: opt } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    scales: { type: 'string' },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
    'warm-only': { type: 'boolean', default: false },
    'no-install': { type: 'boolean', default: false },
    dir: { type: 'string', default: process.env.FIM_BENCH_DIR || join(tmpdir(), 'fim-bench') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
  process.exit(0);
}
const runs = Math.max(1, Number.parseInt(opt.runs, 10) || 1);
const seed = Number(opt.seed);
const tools = (opt.only ?? (opt.scales ? 'fim,b3sum' : ALL_TOOLS.join(','))).split(',').map((s) => s.trim());
for (const t of tools) {
  if (!ALL_TOOLS.includes(t)) {
    log(`unknown tool "${t}" in --only (known: ${ALL_TOOLS.join(', ')})`);
    process.exit(2);
  }
}
if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
  log('fim is not built: run `npm run build` first');
  process.exit(2);
}

// --- tools: install what is missing, where apt can --------------------------------------------
/** Install missing packages with apt-get (update first); never fatal: missing tools are skipped. */
function ensureTools() {
  const want = { time: existsSync('/usr/bin/time') };
  if (tools.includes('b3sum')) want.b3sum = hasCommand('b3sum');
  if (tools.includes('aide')) want.aide = hasCommand('aide');
  if (tools.includes('tripwire')) want.tripwire = hasCommand('tripwire') && hasCommand('twadmin');
  const missing = Object.keys(want).filter((k) => !want[k]);
  if (!missing.length || opt['no-install']) return;
  if (!hasCommand('apt-get') || process.getuid?.() !== 0) {
    log(`missing: ${missing.join(', ')} (no apt-get or not root: those columns are skipped)`);
    return;
  }
  log(`installing with apt-get: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) =>
    spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'inherit'] }).status === 0;
  if (!apt(['update'])) log('apt-get update failed; trying the install anyway');
  // One package at a time, so one that is unavailable does not block the others.
  for (const pkg of missing) if (!apt(['install', '-y', pkg])) log(`apt-get install ${pkg} failed; skipped`);
}

const TIME_BIN = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

function version(cmd, args) {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`.split('\n').find((l) => l.trim()) ?? '?';
  } catch {
    return 'not installed';
  }
}

// --- measuring one run ----------------------------------------------------------------------
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

/** Spawn argv, wait, return { seconds, rssKB, code, stdout, stderr }. */
function measure(argv, { captureStdout = false } = {}) {
  const rssFile = join(tmpdir(), `fim-bench-rss-${process.pid}`);
  const full = TIME_BIN ? [TIME_BIN, '-f', '%M', '-o', rssFile, ...argv] : argv;
  return new Promise((done) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(full[0], full.slice(1), {
      stdio: ['ignore', captureStdout ? 'pipe' : 'ignore', 'pipe'],
    });
    const out = [];
    let err = '';
    child.stdout?.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => {
      err = (err + b).slice(-8192); // keep the tail: enough to explain a failure
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
      done({ seconds, rssKB, code, stdout: Buffer.concat(out).toString('utf8'), stderr: err });
    });
  });
}

/** Read every file of the tree, so the next run starts with a warm page cache. */
function warm(tree) {
  spawnSync('sh', ['-c', `find ${q(tree)} -type f -print0 | xargs -0 cat > /dev/null`], { stdio: 'ignore' });
}

/** Drop the page cache; returns false (once) when the kernel does not let us. */
function dropCaches() {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

// --- the cases: one command each, with what it needs before and after ------------------------
function buildCases(m) {
  const fimCfg = join(m.out, 'fim/fim.yaml');
  const fimDb = join(m.out, 'fim/fim.db');
  const aideConf = join(m.out, 'aide/aide.conf');
  const aideDb = join(m.out, 'aide/aide.db');
  const tw = m.tripwire;
  const cases = [];
  if (tools.includes('fim')) {
    cases.push({
      id: 'fim-baseline',
      label: 'fim baseline',
      // A fresh database per run: a baseline appended to an old one would inflate bytes per file.
      before: () => {
        for (const s of ['', '-wal', '-shm', '-journal']) rmSync(fimDb + s, { force: true });
      },
      argv: [FIM, 'baseline', '--config', fimCfg, '--json'],
      captureStdout: true,
      after: (r) => {
        const j = JSON.parse(r.stdout);
        const dbBytes = ['', '-wal'].reduce(
          (n, s) => n + (existsSync(fimDb + s) ? statSync(fimDb + s).size : 0),
          0,
        );
        return { entries: j.files, dbBytes, errors: j.errors.length };
      },
    });
    cases.push({
      id: 'fim-check',
      label: 'fim check',
      argv: [FIM, 'check', '--config', fimCfg, '--json'],
      captureStdout: true,
      after: (r) => ({ summary: JSON.parse(r.stdout).summary }),
    });
  }
  if (tools.includes('b3sum') && hasCommand('b3sum')) {
    cases.push({
      id: 'b3sum',
      label: 'b3sum --num-threads 1',
      // xargs splits the list under ARG_MAX; find runs alongside, as a walk would.
      argv: ['sh', '-c', `find ${q(m.tree)} -type f -print0 | xargs -0 b3sum --num-threads 1 > /dev/null`],
    });
  }
  if (tools.includes('aide') && hasCommand('aide')) {
    const workers = aideSupportsWorkers() ? [1, 2] : [null];
    for (const w of workers) {
      const wArg = w ? [`--workers=${w}`] : [];
      cases.push({
        id: `aide-init${w ? `-w${w}` : ''}`,
        label: `AIDE init${w ? ` --workers ${w}` : ''}`,
        before: () => rmSync(`${aideDb}.new`, { force: true }),
        argv: ['aide', '--init', '--config', aideConf, ...wArg],
        // The check compares against the database this init just wrote.
        after: () => renameSync(`${aideDb}.new`, aideDb),
      });
    }
    for (const w of workers) {
      const wArg = w ? [`--workers=${w}`] : [];
      cases.push({
        id: `aide-check${w ? `-w${w}` : ''}`,
        label: `AIDE check${w ? ` --workers ${w}` : ''}`,
        argv: ['aide', '--check', '--config', aideConf, ...wArg],
      });
    }
  }
  if (tools.includes('tripwire') && tw?.ready && hasCommand('tripwire')) {
    cases.push({
      id: 'tripwire-init',
      label: 'Tripwire init (SHA-1, -e)',
      before: () => rmSync(tw.db, { force: true }),
      // -e: database not signed with the local key. Signing makes Tripwire sleep a fixed 2 s after
      // the passphrase (measured with strace: clock_nanosleep 2 s), which is not scanning work.
      argv: ['tripwire', '--init', '-c', tw.cfg, '-p', tw.pol, '-e', '-s'],
    });
    cases.push({
      id: 'tripwire-check',
      label: 'Tripwire check (SHA-1)',
      argv: ['tripwire', '--check', '-c', tw.cfg, '-p', tw.pol, '-n', '-s'],
    });
  }
  return cases;
}

let aideWorkers;
function aideSupportsWorkers() {
  aideWorkers ??= /--workers/.test(spawnSync('aide', ['--help'], { encoding: 'utf8' }).stdout ?? '');
  return aideWorkers;
}

/**
 * Give the bench's fim host keys, once per tree directory, so baselines are signed and checks
 * verify the signature, as in production (loading the epoch keys costs time and memory too).
 * Returns a line for the header. Without a `keygen` command the baselines stay unsigned.
 */
function ensureFimKeys(m) {
  const cfg = join(m.out, 'fim/fim.yaml');
  const keys = join(m.out, 'fim/keys');
  if (existsSync(keys)) return `fim: signed baselines (keys in ${keys})`;
  if (spawnSync(FIM, ['help', 'keygen'], { stdio: 'ignore' }).status !== 0)
    return 'fim: unsigned baselines (this build has no `fim keygen`)';
  const r = spawnSync(FIM, ['keygen', '--config', cfg, '--quiet'], { encoding: 'utf8' });
  if (r.status === 0) return `fim: signed baselines (keys in ${keys})`;
  rmSync(keys, { recursive: true, force: true }); // no half-made key store: the next run retries
  log(`fim keygen failed (exit ${r.status}): ${r.stderr.trim()}`);
  return 'fim: unsigned baselines (fim keygen failed)';
}

/** Run every case `runs` times in each mode; returns per-case results with medians. */
async function runCases(m, cases, modes) {
  const results = [];
  for (const mode of modes) {
    const byId = new Map(cases.map((c) => [c.id, { id: c.id, label: c.label, mode, runs: [] }]));
    for (let i = 0; i < runs; i++) {
      for (const c of cases) {
        c.before?.();
        if (mode === 'warm') warm(m.tree);
        else dropCaches();
        const r = await measure(c.argv, { captureStdout: c.captureStdout });
        let extra = {};
        // Exit 0 means "ran and found nothing" for every tool here: the tree is unchanged.
        if (r.code === 0 && c.after) extra = c.after(r);
        if (r.code !== 0)
          log(`${c.label} (${mode}) exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        byId.get(c.id).runs.push({ seconds: r.seconds, rssKB: r.rssKB, code: r.code, ...extra });
        log(
          `  ${mode} run ${i + 1}/${runs}  ${c.label.padEnd(26)} ${r.seconds.toFixed(3)} s  ${((r.rssKB * 1024) / 1e6).toFixed(1)} MB`,
        );
      }
    }
    for (const res of byId.values()) {
      res.seconds = median(res.runs.map((r) => r.seconds));
      res.rssMB = (median(res.runs.map((r) => r.rssKB)) * 1024) / 1e6;
      res.ok = res.runs.every((r) => r.code === 0);
      res.filesPerSec = m.files / res.seconds;
      res.mbPerSec = m.bytes / 1e6 / res.seconds;
      const last = res.runs.at(-1);
      if (last.dbBytes) res.dbBytesPerFile = last.dbBytes / last.entries;
      results.push(res);
    }
  }
  return results;
}

// --- output ---------------------------------------------------------------------------------
function fmt(n, digits = 0) {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(headers, rows, rightFrom = 1) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) =>
    r.map((c, i) => (i < rightFrom ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [line(headers), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

function ratios(results) {
  const get = (id, mode) => results.find((r) => r.id === id && r.mode === mode);
  return results.map((r) => {
    const b = get('fim-baseline', r.mode);
    const c = get('fim-check', r.mode);
    return { ...r, baselineRatio: b && b.seconds / r.seconds, checkRatio: c && c.seconds / r.seconds };
  });
}

function targets(results) {
  const get = (id) => results.find((r) => r.id === id && r.mode === 'warm');
  const b = get('fim-baseline');
  const c = get('fim-check');
  const b3 = get('b3sum');
  const out = [];
  const add = (name, value, limit, unit) =>
    out.push({ name, value, limit, unit, met: value === undefined ? null : value <= limit });
  if (b && b3) add('fim baseline / b3sum wall time', b.seconds / b3.seconds, TARGET.baselineVsB3, '×');
  if (c && b3) add('fim check / b3sum wall time', c.seconds / b3.seconds, TARGET.checkVsB3, '×');
  if (b || c) add('fim peak RSS', Math.max(b?.rssMB ?? 0, c?.rssMB ?? 0), TARGET.rssMB, 'MB');
  if (b?.dbBytesPerFile) add('database bytes per entry', b.dbBytesPerFile, TARGET.dbBytesPerFile, 'B');
  return out;
}

function header(m, extra) {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return [
    `machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, Linux ${release()}, node ${process.version}`,
    `load average at start: ${load}${Number(load.split(' ')[0]) > 0.3 * cpus().length ? '  (NOT QUIET: numbers are unreliable)' : ''}`,
    `tree: scale ${m.scale}, seed ${m.seed}, ${fmt(m.files)} files, ${fmt(m.dirs)} dirs, ${fmt(m.bytes / 2 ** 30, 2)} GiB at ${m.tree}`,
    ...extra,
  ].join('\n');
}

// --- main modes -----------------------------------------------------------------------------
function treeFor(scale) {
  const out = join(resolve(opt.dir), `scale-${scale}-seed-${seed}`);
  const m = generate({ out, scale, seed, log });
  log(m.reused ? `reusing the tree in ${out}` : `generated ${m.files} files in ${m.seconds} s in ${out}`);
  if (isTmpfs(out)) log(`warning: ${out} is on tmpfs: reads never touch a disk, cold runs mean nothing`);
  return m;
}

function isTmpfs(path) {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.length > 2 && (path === f[1] || path.startsWith(`${f[1].replace(/\/$/, '')}/`)));
  const best = mounts.sort((a, b) => b[1].length - a[1].length)[0];
  return best?.[2] === 'tmpfs';
}

async function single() {
  const scale = Number(opt.scale);
  ensureTools();
  const m = treeFor(scale);
  const keysNote = tools.includes('fim') ? ensureFimKeys(m) : 'fim: not run';
  const cases = buildCases(m);
  const coldOk = !opt['warm-only'] && dropCaches();
  const modes = coldOk ? ['warm', 'cold'] : ['warm'];
  const coldNote = opt['warm-only']
    ? 'cold: skipped (--warm-only)'
    : coldOk
      ? 'cold: page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every cold run'
      : 'cold: NOT MEASURED: writing /proc/sys/vm/drop_caches is not permitted here';
  const versions = {
    b3sum: hasCommand('b3sum') ? version('b3sum', ['--version']) : 'not installed',
    aide: hasCommand('aide') ? version('aide', ['--version']) : 'not installed',
    tripwire: hasCommand('tripwire') ? version('tripwire', ['--version']) : 'not installed',
  };
  if (tools.includes('tripwire') && !m.tripwire?.ready) log('tripwire: not set up (see above); skipped');
  log(`running ${cases.length} commands × ${runs} run(s) × ${modes.join('+')}`);
  const results = ratios(await runCases(m, cases, modes));
  const tg = targets(results);

  if (opt.json) {
    const json = {
      scale,
      seed,
      runs,
      tree: m,
      cold: coldOk,
      fimKeys: keysNote,
      versions,
      results,
      targets: tg,
      target: TARGET,
    };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  const extra = [
    `runs: ${runs} per command (median shown), ${coldNote}`,
    keysNote,
    `tools: ${Object.entries(versions)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}`,
    'files/s and MB/s use the same denominators for every tool: regular files and their bytes in the tree',
  ];
  const rows = results.map((r) => [
    r.label,
    r.mode,
    fmt(r.seconds, 3),
    fmt(r.filesPerSec),
    fmt(r.mbPerSec),
    fmt(r.rssMB, 1),
    fmt(r.baselineRatio, 2),
    fmt(r.checkRatio, 2),
    r.ok ? '' : `exit ${r.runs.map((x) => x.code).join(',')}`,
  ]);
  process.stdout.write(`${header(m, extra)}\n\n`);
  process.stdout.write(
    `${table(['command', 'cache', 'wall s', 'files/s', 'MB/s', 'peak RSS MB', 'fim baseline ÷', 'fim check ÷', 'note'], rows, 2)}\n\n`,
  );
  process.stdout.write(
    `targets (issue 7; defined at scale 1, warm${scale === 1 ? '' : `; this run is scale ${scale}, so indicative only`}):\n`,
  );
  for (const t of tg) {
    const v = t.unit === '×' ? `${fmt(t.value, 2)}×` : `${fmt(t.value, 1)} ${t.unit}`;
    process.stdout.write(
      `  ${t.name.padEnd(32)} ${v.padStart(10)}   target ≤ ${t.limit}${t.unit === '×' ? '×' : ` ${t.unit}`}   ${t.met ? 'met' : 'MISSED'}\n`,
    );
  }
}

async function scalesMode() {
  const scales = opt.scales
    .split(',')
    .map(Number)
    .filter((s) => s > 0);
  ensureTools();
  const rows = [];
  for (const scale of scales) {
    log(`scale ${scale}`);
    const m = treeFor(scale);
    if (tools.includes('fim')) log(ensureFimKeys(m));
    const res = ratios(await runCases(m, buildCases(m), ['warm']));
    const get = (id) => res.find((r) => r.id === id);
    rows.push({
      scale,
      files: m.files,
      bytes: m.bytes,
      baseline: get('fim-baseline'),
      check: get('fim-check'),
      b3sum: get('b3sum'),
    });
  }
  if (opt.json) {
    process.stdout.write(`${JSON.stringify({ seed, runs, scales: rows }, null, 2)}\n`);
    return;
  }
  const first = rows[0];
  process.stdout.write(
    `fim growth with tree size (warm, median of ${runs}); "per unit" = seconds ÷ scale, flat when time is linear\n\n`,
  );
  process.stdout.write(
    `${table(
      [
        'scale',
        'files',
        'GiB',
        'baseline s',
        'check s',
        'b3sum s',
        'baseline per unit',
        'check per unit',
        'baseline RSS MB',
        'check RSS MB',
        'DB B/entry',
      ],
      rows.map((r) => [
        r.scale,
        fmt(r.files),
        fmt(r.bytes / 2 ** 30, 2),
        fmt(r.baseline?.seconds, 3),
        fmt(r.check?.seconds, 3),
        fmt(r.b3sum?.seconds, 3),
        fmt(r.baseline && r.baseline.seconds / r.scale, 3),
        fmt(r.check && r.check.seconds / r.scale, 3),
        fmt(r.baseline?.rssMB, 1),
        fmt(r.check?.rssMB, 1),
        fmt(r.baseline?.dbBytesPerFile, 1),
      ]),
      0,
    )}\n\n`,
  );
  for (const r of rows.slice(1)) {
    const x = (a, b) => (a && b ? `×${fmt(a / b, 2)}` : '–');
    process.stdout.write(
      `scale ${first.scale} → ${r.scale}: files ${x(r.files, first.files)}, bytes ${x(r.bytes, first.bytes)}, ` +
        `baseline time ${x(r.baseline?.seconds, first.baseline?.seconds)}, check time ${x(r.check?.seconds, first.check?.seconds)}, ` +
        `baseline RSS ${x(r.baseline?.rssMB, first.baseline?.rssMB)}, check RSS ${x(r.check?.rssMB, first.check?.rssMB)}\n`,
    );
  }
}

await (opt.scales ? scalesMode() : single());
