#!/usr/bin/env node
/**
 * What the attributes read beyond lstat (caps, acl, selinux, xattrs, flags) and the optional
 * SHA-256 cost, measured side by side on one tree, interleaved round by round:
 *
 *   node bench/attributes.mjs --tree /usr [--runs 3]
 *
 * - `check --fast` under `readonly` against `readonly -caps -acl -selinux -xattrs -flags`: the
 *   per-entry cost of the new attributes (a --fast check hashes nothing that did not move, so it is
 *   almost all per-entry work);
 * - `check --fast` under `dynamic` (nothing hashed, so each regular file is opened only for its flags
 *   and xattrs) against `dynamic -caps -acl -selinux -xattrs -flags`;
 * - `baseline` under `readonly` against the same without the new attributes (read through the
 *   descriptor that hashes), and with `hashes: [blake3]` against `hashes: [blake3, sha256]`.
 * Wall clock from spawn to exit, node start-up included; the tree is read once before the rounds so
 * the page cache is warm. Run it on a quiet machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIM = join(ROOT, 'bin/fim');
const { values: opt } = parseArgs({
  options: { tree: { type: 'string' }, runs: { type: 'string', default: '3' } },
});
if (!opt.tree) {
  process.stderr.write('usage: node bench/attributes.mjs --tree DIR [--runs N]\n');
  process.exit(16);
}
const tree = resolve(opt.tree);
const runs = Number(opt.runs);
const dir = mkdtempSync(join(tmpdir(), 'fim-bench-attr-'));
const NO_EXT = '-caps -acl -selinux -xattrs -flags';
const VARIANTS = {
  readonly: { check: 'readonly', hashes: '[blake3]' },
  'readonly, no new attributes': { check: `readonly ${NO_EXT}`, hashes: '[blake3]' },
  dynamic: { check: 'dynamic', hashes: '[blake3]' },
  'dynamic, no new attributes': { check: `dynamic ${NO_EXT}`, hashes: '[blake3]' },
  'readonly + sha256': { check: 'readonly', hashes: '[blake3, sha256]' },
};

function config(name, v) {
  const slug = name.replace(/[^a-z0-9]+/g, '-');
  const policy = join(dir, `${slug}.yaml`);
  writeFileSync(
    policy,
    `version: 1\nrules:\n  - name: t\n    paths: [${JSON.stringify(tree)}]\n    check: ${v.check}\n    hashes: ${v.hashes}\n`,
  );
  const cfg = join(dir, `${slug}-fim.yaml`);
  writeFileSync(
    cfg,
    `policies: [${JSON.stringify(policy)}]\ndatabase: ${JSON.stringify(join(dir, `${slug}.db`))}\n`,
  );
  return cfg;
}

function timed(argv) {
  const t = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
  const s = (performance.now() - t) / 1000;
  if (r.status !== 0 && r.status !== 1 && r.status !== 8 && r.status !== 9)
    throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { s, out: r.stdout.toString() };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const cfgs = Object.fromEntries(Object.entries(VARIANTS).map(([n, v]) => [n, config(n, v)]));
spawnSync('sh', ['-c', `find ${JSON.stringify(tree)} -type f -print0 | xargs -0 cat > /dev/null 2>&1`]);
let entries = 0;
for (const [n, cfg] of Object.entries(cfgs)) {
  const b = JSON.parse(timed([FIM, 'baseline', '--config', cfg, '--json', '-q']).out);
  entries = b.files ?? b.stats?.recorded ?? entries;
  process.stderr.write(`baseline for ${n}: ${entries} records\n`);
}
const times = {};
const record = (k, s) => {
  if (!times[k]) times[k] = [];
  times[k].push(s);
};
for (let i = 0; i < runs; i++) {
  for (const [n, cfg] of Object.entries(cfgs)) {
    if (!n.includes('sha256'))
      record(`check --fast, ${n}`, timed([FIM, 'check', '--fast', '--config', cfg, '--json']).s);
    if (n.startsWith('readonly'))
      record(`baseline, ${n}`, timed([FIM, 'baseline', '--config', cfg, '--json', '-q']).s);
  }
  process.stderr.write(`round ${i + 1}/${runs} done\n`);
}
const rows = Object.entries(times).map(([k, v]) => ({
  run: k,
  median_s: Number(median(v).toFixed(2)),
  runs: v.map((x) => Number(x.toFixed(2))),
}));
console.log(JSON.stringify({ tree, entries, runs, rows }, null, 2));
const m = (k) => median(times[k]);
const per = (a, b) => (((m(a) - m(b)) / entries) * 1e6).toFixed(1);
console.log(
  `new attributes, readonly --fast: ${per('check --fast, readonly', 'check --fast, readonly, no new attributes')} µs per entry`,
);
console.log(
  `new attributes, dynamic --fast: ${per('check --fast, dynamic', 'check --fast, dynamic, no new attributes')} µs per entry`,
);
console.log(
  `new attributes, readonly baseline: ${per('baseline, readonly', 'baseline, readonly, no new attributes')} µs per entry`,
);
console.log(
  `sha256 on baseline: ${(m('baseline, readonly + sha256') / m('baseline, readonly')).toFixed(2)}x the blake3-only baseline`,
);
rmSync(dir, { recursive: true, force: true });
