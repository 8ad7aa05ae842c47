#!/usr/bin/env node
/**
 * Scan benchmark (issues 7 and 20): fim against b3sum, a stat walk, AIDE and Tripwire, on the same
 * tree, in one interleaved run.
 *
 *   npm run bench -- [--scale 1 | --tree DIR] [--runs 3] [--only fim,aide,tripwire] [--threads 1,2] [--json]
 *                    [--warm-only] [--no-install] [--dir DIR] [--seed 1]
 *   npm run bench -- --scales 0.1,1,4 [--runs N] [--only fim]      growth of fim's time and memory
 *
 * See docs/performance.md for what every column means and the targets.
 *
 * Method, and why:
 * - Every tool is a separate process timed from spawn to exit (wall clock), node start-up included
 *   for fim: that is what a user waits for.
 * - fim runs `baseline`, `check` and `check --fast`; each is divided by three references timed in
 *   the same run: b3sum on one thread (hashing the same bytes on one core), b3sum on all cores
 *   (xargs -P), and a find -printf stat walk (the floor for visiting every entry).
 * - The tree is the generated sample tree (bench/gen-tree.mjs), or any directory (--tree DIR), for
 *   which the tools' configurations are written into a work directory under --dir.
 * - --threads 1,2 runs fim's three commands once per `scan.threads` value (a configuration and a
 *   database each), in the same rounds; the ratio summary uses the first value.
 * - Peak RSS comes from GNU time (%M, the largest resident set of the process or of its largest
 *   descendant), else from polling VmHWM in /proc for the process tree.
 * - Warm: the tree's regular files are read (find -xdev | xargs cat) before EVERY warm run, because
 *   Tripwire drops each file from the page cache after hashing it and would otherwise make the next
 *   tool cold.
 * - Cold: `sync; echo 3 > /proc/sys/vm/drop_caches` before every cold run, when permitted.
 * - Runs are interleaved (all tools in round 1, then all in round 2, ...) so that drift in the
 *   machine's load hits every tool alike; the tables show medians.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hasCommand } from './gen-tree.mjs';
import { buildCases, classifyExit } from './lib/cases.mjs';
import {
  diagnosticLines,
  diagnostics,
  fmt,
  ratios,
  ratioTable,
  resultsTable,
  STATUS,
  summarize,
  TARGET,
  table,
  targetLines,
  targets,
} from './lib/report.mjs';
import {
  dropCaches,
  loadAverage,
  log,
  machine,
  measure,
  notQuiet,
  showArg,
  version,
  warm,
} from './lib/run.mjs';
import { existingTree, sampleTree } from './lib/trees.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIM = join(ROOT, 'bin/fim');
// b3sum and find are the references and always run; naming them in --only is allowed (and a no-op).
const ALL_TOOLS = ['fim', 'b3sum', 'find', 'aide', 'tripwire'];

// --- options --------------------------------------------------------------------------------
const { values: opt } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    scales: { type: 'string' },
    tree: { type: 'string' },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
    threads: { type: 'string' },
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
const COMMAND = process.argv.map(showArg).join(' ');
const runs = Math.max(1, Number.parseInt(opt.runs, 10) || 1);
const seed = Number(opt.seed);
const tools = (opt.only ?? ALL_TOOLS.join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const t of tools) {
  if (!ALL_TOOLS.includes(t)) {
    log(`unknown tool "${t}" in --only (known: ${ALL_TOOLS.join(', ')})`);
    process.exit(2);
  }
}
if (opt.tree && opt.scales) {
  log('--tree and --scales do not go together (growth mode generates its trees)');
  process.exit(2);
}
if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
  log('fim is not built: run `npm run build` first');
  process.exit(2);
}

// --- tools: install what is missing, where apt can --------------------------------------------
/** Install missing packages with apt-get (update first); never fatal: missing tools are skipped. */
function ensureTools() {
  const want = { time: existsSync('/usr/bin/time'), b3sum: hasCommand('b3sum') };
  if (tools.includes('aide')) want.aide = hasCommand('aide');
  if (tools.includes('tripwire')) want.tripwire = hasCommand('tripwire') && hasCommand('twadmin');
  const missing = Object.keys(want).filter((k) => !want[k]);
  if (!missing.length || opt['no-install']) return;
  if (!hasCommand('apt-get') || process.getuid?.() !== 0) {
    log(`missing: ${missing.join(', ')} (no apt-get or not root: those rows are skipped)`);
    return;
  }
  log(`installing with apt-get: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) =>
    spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'inherit'] }).status === 0;
  // Tripwire's package asks about site and local keys through debconf; answer "no" to both (the
  // bench makes its own keys) so the install cannot stop at a prompt.
  if (missing.includes('tripwire') && hasCommand('debconf-set-selections'))
    spawnSync('debconf-set-selections', [], {
      input: [
        'tripwire tripwire/use-sitekey boolean false',
        'tripwire tripwire/use-localkey boolean false',
        'tripwire tripwire/installed note',
        'postfix postfix/main_mailer_type select No configuration',
        '',
      ].join('\n'),
    });
  if (!apt(['update'])) log('apt-get update failed; trying the install anyway');
  // One package at a time, so one that is unavailable does not block the others.
  for (const pkg of missing)
    if (!apt(['install', '-y', '--no-install-recommends', pkg]))
      log(`apt-get install ${pkg} failed; skipped`);
}

/**
 * Give the bench's fim host keys, once per tree work directory, so baselines are signed and checks
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

const tail = (s, n = 2000) => (s && s.length > n ? s.slice(-n) : s);

/** Run every case `runs` times in each mode, round by round; returns Map(mode → Map(id → runs)). */
async function runCases(m, cases, modes) {
  const byMode = new Map();
  for (const mode of modes) {
    const byId = new Map(cases.map((c) => [c.id, []]));
    byMode.set(mode, byId);
    for (let i = 0; i < runs; i++) {
      for (const c of cases) {
        c.before?.();
        if (mode === 'warm') warm(m.tree);
        else dropCaches();
        const r = await measure(c.argv, { captureStdout: c.captureStdout });
        const status = classifyExit(c, r.code);
        const extra = status !== 'failed' && c.after ? (c.after(r) ?? {}) : {};
        if (r.code !== 0)
          log(
            `${c.label} (${mode}) exited ${r.code} (${STATUS[status]}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
          );
        byId.get(c.id).push({
          round: i + 1,
          seconds: r.seconds,
          rssKB: r.rssKB,
          code: r.code,
          status,
          stderr: tail(r.stderr),
          ...(c.captureStdout ? {} : { stdout: tail(r.stdout) }),
          ...extra,
        });
        log(
          `  ${mode} round ${i + 1}/${runs}  ${c.label.padEnd(30)} ${r.seconds.toFixed(3)} s  ${((r.rssKB * 1024) / 1e6).toFixed(1)} MB`,
        );
      }
    }
  }
  return summarize(cases, byMode, m);
}

// --- output ---------------------------------------------------------------------------------
function treeLine(m) {
  const size = `${fmt(m.files)} regular files (${fmt(m.bytes / 2 ** 30, 2)} GiB), ${fmt(m.dirs)} dirs, ${fmt(m.symlinks)} symlinks`;
  return m.kind === 'sample'
    ? `tree: generated sample, scale ${m.scale}, seed ${m.seed}: ${size} at ${m.tree}`
    : `tree: ${m.tree} (--tree; counted with find -xdev, no symlink followed): ${size}; work dir ${m.out}`;
}

function machineLines(mc, load) {
  return [
    `command: ${COMMAND}`,
    `machine: ${mc.cores} cores × ${mc.cpu}, ${fmt(mc.memoryGiB, 1)} GiB, Linux ${mc.kernel} (${mc.os}), node ${mc.node}`,
    `load average at start: ${load.join(' ')}${notQuiet(load) ? '  (NOT QUIET: numbers are unreliable)' : ''}`,
  ];
}

// --- main modes -----------------------------------------------------------------------------
async function single() {
  ensureTools();
  const load = loadAverage();
  const mc = machine();
  const m = opt.tree
    ? await existingTree({ dir: opt.dir, tree: opt.tree })
    : sampleTree({ dir: opt.dir, scale: Number(opt.scale), seed });
  const keysNote = tools.includes('fim') ? ensureFimKeys(m) : 'fim: not run';
  const threads = (opt.threads ?? '')
    .split(',')
    .filter(Boolean)
    .map((t) => Number.parseInt(t, 10));
  const cases = buildCases({ m, tools, fim: FIM, threads });
  const coldOk = !opt['warm-only'] && dropCaches();
  const modes = coldOk ? ['warm', 'cold'] : ['warm'];
  const coldNote = opt['warm-only']
    ? 'cold: skipped (--warm-only)'
    : coldOk
      ? 'cold: page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every cold run'
      : 'cold: NOT MEASURED: writing /proc/sys/vm/drop_caches is not permitted here';
  const versions = {
    b3sum: hasCommand('b3sum') ? version('b3sum', ['--version']) : 'not installed',
    find: version('find', ['--version']),
    aide: hasCommand('aide') ? version('aide', ['--version']) : 'not installed',
    tripwire: hasCommand('tripwire') ? version('tripwire', ['--version']) : 'not installed',
  };
  if (tools.includes('tripwire') && !m.tripwire?.ready) log('tripwire: not set up (see above); skipped');
  if (!hasCommand('b3sum'))
    log('b3sum is not installed: the b3sum references and every ratio to them are missing');
  log(`running ${cases.length} commands × ${runs} round(s) × ${modes.join('+')}`);
  const results = await runCases(m, cases, modes);
  const rt = ratios(results, modes);
  const tg = targets(results, rt);
  const diag = diagnostics(results);
  const loadEnd = loadAverage();
  const targetsNote =
    m.kind === 'sample' && m.scale !== 1
      ? `; this run is scale ${m.scale}, so indicative only`
      : m.kind === 'existing' && m.tree !== '/usr'
        ? `; this run is on ${m.tree}, so indicative only`
        : '';

  if (opt.json) {
    const json = {
      command: COMMAND,
      argv: process.argv,
      date: new Date().toISOString(),
      machine: mc,
      load: { start: load, end: loadEnd, quiet: !notQuiet(load) },
      runs,
      cold: coldOk,
      tree: m,
      fimKeys: keysNote,
      versions,
      results,
      ratios: rt,
      targets: tg,
      target: TARGET,
      diagnostics: diag,
    };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  const out = [
    ...machineLines(mc, load),
    treeLine(m),
    ...m.notes.map((n) => `note: ${n}`),
    `runs: ${runs} round(s), interleaved (median shown), ${coldNote}`,
    keysNote,
    `tools: ${Object.entries(versions)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}`,
    'files/s and MB/s use the same denominators for every tool: regular files and their bytes in the tree',
    '',
    resultsTable(results, modes),
    '',
    'fim ÷ the references of the same run ("b3sum on all cores" is the faster of the two xargs -P rows):',
    ratioTable(rt),
    '',
    `targets (issue 20; defined warm, on the scale-1 sample tree and on /usr${targetsNote}):`,
    ...targetLines(tg),
  ];
  if (diag.length)
    out.push(
      '',
      'what the tools reported (exit codes other than 0, stderr, unreadable entries):',
      ...diagnosticLines(diag),
    );
  out.push('', `load average at end: ${loadEnd.join(' ')}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

async function scalesMode() {
  const scales = opt.scales
    .split(',')
    .map(Number)
    .filter((s) => s > 0);
  ensureTools();
  const load = loadAverage();
  const mc = machine();
  const rows = [];
  for (const scale of scales) {
    log(`scale ${scale}`);
    const m = sampleTree({ dir: opt.dir, scale, seed });
    if (tools.includes('fim')) log(ensureFimKeys(m));
    const cases = buildCases({ m, tools: tools.filter((t) => t === 'fim'), fim: FIM });
    const res = await runCases(m, cases, ['warm']);
    const rt = ratios(res, ['warm']);
    const get = (id) => res.find((r) => r.id === id);
    const ratio = (id) => rt.find((r) => r.id === id)?.vs['b3sum-1t']?.ratio;
    rows.push({
      scale,
      files: m.files,
      bytes: m.bytes,
      baseline: get('fim-baseline'),
      check: get('fim-check'),
      fast: get('fim-check-fast'),
      b3sum: get('b3sum-1t'),
      ratios: { baseline: ratio('fim-baseline'), check: ratio('fim-check'), fast: ratio('fim-check-fast') },
    });
  }
  if (opt.json) {
    process.stdout.write(
      `${JSON.stringify({ command: COMMAND, machine: mc, load: { start: load, end: loadAverage() }, seed, runs, scales: rows }, null, 2)}\n`,
    );
    return;
  }
  const first = rows[0];
  process.stdout.write(`${machineLines(mc, load).join('\n')}\n`);
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
        'fast s',
        'b3sum s',
        'baseline ÷ b3sum',
        'check ÷ b3sum',
        'fast ÷ b3sum',
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
        fmt(r.fast?.seconds, 3),
        fmt(r.b3sum?.seconds, 3),
        fmt(r.ratios.baseline, 2),
        fmt(r.ratios.check, 2),
        fmt(r.ratios.fast, 2),
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

try {
  await (opt.scales ? scalesMode() : single());
} catch (e) {
  log(`bench: ${e.message}`);
  process.exit(2);
}
