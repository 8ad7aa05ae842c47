#!/usr/bin/env node
/**
 * Deterministic sample worker tree for the scan benchmark (issue 7).
 *
 *   node bench/gen-tree.mjs --out DIR [--scale 1] [--seed 1] [--force]
 *
 * Lays out, under DIR/tree:
 *   srv/celery/app/    the application: ~21k small files (scale 1) in ~1,500 directories
 *   srv/celery/venv/   a virtualenv: bin/ with symlinks and scripts, site-packages with __pycache__
 *   srv/celery/data/   three large files (200 MiB each at scale 1)
 *   etc/celery/        configuration, and keys/ with private keys (mode 0600)
 * Small-file sizes are log-normal, clamped to 200 B .. 200 KiB. Scale 1 is ~30k files and ~1.5 GiB;
 * file and directory counts and the large files' size scale linearly, config and keys do not.
 *
 * Beside the tree it writes the tools' configurations (fim policy and config, AIDE config, Tripwire
 * policy/config and keys when twadmin is installed) and, last, manifest.json. The manifest is the
 * "complete" marker: bench/scan.mjs reuses a tree only when its manifest names the same generator
 * version, scale and seed.
 *
 * Everything comes from a seeded PRNG (sfc32), never Math.random, so a scale and seed always give
 * the same names, sizes and bytes, and numbers from different machines describe the same work.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writevSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Bump when the layout changes, so old trees are regenerated instead of silently reused. */
export const GENERATOR_VERSION = 1;

const KiB = 1024;
const MiB = 1024 * KiB;

// Scale-1 shape. The small-file distribution (median 16 KB, sigma 1.3, clamped) averages ~32 KiB,
// so ~30k small files make ~0.94 GiB and the three large files the remaining ~0.6 GiB.
const SHAPE = {
  appFiles: 21_000,
  appDirs: 1_500,
  venvFiles: 9_000,
  venvPackages: 120,
  bigFiles: 3,
  bigFileBytes: 200 * MiB,
  sizeMedian: 16_000,
  sizeSigma: 1.3,
  sizeMin: 200,
  sizeMax: 200 * KiB,
};

/** sfc32 seeded through splitmix32: small, fast, good enough statistics, reproducible everywhere. */
export function makeRng(seed) {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  const u32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  const float = () => u32() / 4294967296;
  return {
    u32,
    float,
    int: (n) => Math.floor(float() * n),
    pick: (arr) => arr[Math.floor(float() * arr.length)],
    // Box-Muller; 1 - float() keeps log() away from 0.
    normal: () => Math.sqrt(-2 * Math.log(1 - float())) * Math.cos(2 * Math.PI * float()),
  };
}

const WORDS = (
  'tasks models views utils client broker schema render billing invoice report queue retry ' +
  'storage export import mailer auth tokens session cache metrics search index notify ' +
  'payments ledger audit sync fetch parser events worker beat routes serializers forms admin'
).split(' ');
const APP_EXT = ['.py', '.py', '.py', '.py', '.py', '.py', '.json', '.html', '.txt', '.yaml', '.css', '.js'];

/** Write `size` bytes: a unique header (so no two files are identical) then a slice of the pool. */
function writeSmall(path, size, pool, rng, id, mode = 0o644) {
  const header = Buffer.from(`# ${id}\n`);
  const body = Math.max(0, size - header.length);
  const off = rng.int(pool.length - body);
  const fd = openSync(path, 'w', mode);
  try {
    // writev: no per-file copy of the body; the pool is shared by every file.
    writevSync(fd, [header.subarray(0, Math.min(size, header.length)), pool.subarray(off, off + body)]);
  } finally {
    closeSync(fd);
  }
  return size;
}

/** A large file in 8 MiB writes from the pool, each chunk stamped with its index to stay unique. */
function writeBig(path, size, pool, id) {
  const chunk = 8 * MiB;
  const fd = openSync(path, 'w', 0o644);
  try {
    const stamp = Buffer.alloc(16);
    for (let pos = 0, i = 0; pos < size; pos += chunk, i++) {
      const n = Math.min(chunk, size - pos);
      stamp.write(`${id}:${i}`.padEnd(16, ' ').slice(0, 16), 'latin1');
      const s = stamp.subarray(0, Math.min(16, n));
      writevSync(fd, [s, pool.subarray(0, n - s.length)]);
    }
  } finally {
    closeSync(fd);
  }
  return size;
}

/** PEM-looking text of `bytes` random bytes: keys must look like keys, their content is irrelevant. */
function pem(label, bytes, rng) {
  const raw = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) raw[i] = rng.u32() & 0xff;
  const b64 = raw.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}

/**
 * Generate the tree and the tool configurations. Returns the manifest. Reuses an existing tree
 * with the same version/scale/seed unless `force`.
 */
export function generate({ out, scale = 1, seed = 1, force = false, log = () => {} }) {
  out = resolve(out);
  const existing = readManifest(out);
  if (!force && existing && sameTree(existing, scale, seed)) {
    writeToolConfigs(existing, { log });
    return { ...existing, reused: true };
  }
  const t0 = process.hrtime.bigint();
  rmSync(join(out, 'manifest.json'), { force: true }); // incomplete until rewritten at the end
  rmSync(join(out, 'tree'), { recursive: true, force: true });
  const tree = join(out, 'tree');
  mkdirSync(tree, { recursive: true });

  const rng = makeRng(seed);
  // One 16 MiB pool of random bytes, filled once; every file is a slice of it (writes stay fast).
  const pool = Buffer.allocUnsafe(16 * MiB);
  for (let i = 0; i < pool.length; i += 4) pool.writeUInt32LE(rng.u32(), i);

  const stats = { files: 0, dirs: 1, symlinks: 0, bytes: 0 };
  const mkdir = (p) => {
    mkdirSync(p, { recursive: true });
    stats.dirs++;
  };
  const smallSize = () => {
    const x = Math.round(Math.exp(Math.log(SHAPE.sizeMedian) + SHAPE.sizeSigma * rng.normal()));
    return Math.min(SHAPE.sizeMax, Math.max(SHAPE.sizeMin, x));
  };
  const file = (p, size, mode) => {
    stats.bytes += writeSmall(p, size, pool, rng, stats.files, mode);
    stats.files++;
  };
  const n = (base, min = 1) => Math.max(min, Math.round(base * scale));

  // --- application: a random recursive tree of directories (depth ~ ln n, like real code bases).
  const app = join(tree, 'srv/celery/app');
  mkdirSync(join(tree, 'srv/celery'), { recursive: true });
  stats.dirs += 2;
  mkdir(app);
  const dirs = [app];
  for (let i = 1; i < n(SHAPE.appDirs); i++) {
    const d = join(dirs[rng.int(dirs.length)], `${rng.pick(WORDS)}_${i.toString(36)}`);
    mkdir(d);
    dirs.push(d);
  }
  for (let i = 0; i < n(SHAPE.appFiles); i++) {
    file(join(dirs[rng.int(dirs.length)], `${rng.pick(WORDS)}${i}${rng.pick(APP_EXT)}`), smallSize());
  }

  // --- virtualenv: bin/ (interpreter symlinks, console scripts), site-packages with __pycache__.
  const venv = join(tree, 'srv/celery/venv');
  mkdir(venv);
  mkdir(join(venv, 'bin'));
  const pyvenv = 'home = /usr/bin\ninclude-system-site-packages = false\n';
  writeFileSync(join(venv, 'pyvenv.cfg'), pyvenv);
  stats.files++;
  stats.bytes += pyvenv.length;
  for (const [name, target] of [
    ['python', '/usr/bin/python3'],
    ['python3', 'python'],
    ['python3.11', 'python'],
  ]) {
    symlinkSync(target, join(venv, 'bin', name));
    stats.symlinks++;
  }
  for (const s of ['celery', 'pip', 'pip3', 'activate', 'gunicorn', 'flower', 'watchmedo', 'normalizer']) {
    file(join(venv, 'bin', s), 200 + rng.int(2000), 0o755);
  }
  const site = join(venv, 'lib/python3.11/site-packages');
  mkdirSync(join(venv, 'lib/python3.11'), { recursive: true });
  stats.dirs += 2;
  mkdir(site);
  const pkgs = n(SHAPE.venvPackages);
  // Each package: three dist-info files, then modules as .py + .pyc pairs.
  const perPkg = Math.max(1, Math.round((n(SHAPE.venvFiles) / pkgs - 3) / 2));
  for (let p = 0; p < pkgs; p++) {
    const name = `${rng.pick(WORDS)}_pkg${p}`;
    const pkg = join(site, name);
    mkdir(pkg);
    mkdir(join(pkg, '__pycache__'));
    const info = join(site, `${name}-1.${p % 10}.0.dist-info`);
    mkdir(info);
    for (const m of ['METADATA', 'RECORD', 'WHEEL']) file(join(info, m), 200 + rng.int(4000));
    for (let i = 0; i < perPkg; i++) {
      const size = smallSize();
      file(join(pkg, `mod${i}.py`), size);
      // A compiled twin about the size of its source: deploys compile before baselining.
      file(join(pkg, '__pycache__', `mod${i}.cpython-311.pyc`), Math.max(200, Math.round(size * 0.8)));
    }
  }

  // --- large data files (model weights, a SQLite cache, a bundle).
  const data = join(tree, 'srv/celery/data');
  mkdir(data);
  const bigSize = Math.max(1 * MiB, Math.round(SHAPE.bigFileBytes * scale));
  for (const [i, name] of ['model-a.bin', 'model-b.bin', 'geoip.sqlite'].entries()) {
    stats.bytes += writeBig(join(data, name), bigSize, pool, `big${i}`);
    stats.files++;
  }

  // --- config and keys (fixed count: every worker has the same handful).
  const etc = join(tree, 'etc/celery');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  stats.dirs++;
  mkdir(etc);
  mkdir(join(etc, 'keys'));
  const text = (p, s, mode = 0o644) => {
    writeFileSync(p, s, { mode });
    stats.files++;
    stats.bytes += Buffer.byteLength(s);
  };
  text(
    join(etc, 'celeryconfig.py'),
    "broker_url = 'amqps://broker.internal:5671//'\ntask_acks_late = True\n",
  );
  text(
    join(etc, 'worker.env'),
    'CELERY_APP=app\nCELERYD_NODES=4\nDJANGO_SETTINGS_MODULE=app.settings\n',
    0o640,
  );
  text(join(etc, 'logging.yaml'), 'version: 1\nroot: { level: INFO, handlers: [journal] }\n');
  text(join(etc, 'celery.service.d.conf'), '[Service]\nUser=celery\nLimitNOFILE=65536\n');
  text(join(etc, 'keys/broker-client.key'), pem('PRIVATE KEY', 1218, rng), 0o600);
  text(join(etc, 'keys/broker-client.crt'), pem('CERTIFICATE', 1400, rng));
  text(join(etc, 'keys/ca.crt'), pem('CERTIFICATE', 1500, rng));
  text(join(etc, 'keys/ssh_host_ed25519_key'), pem('OPENSSH PRIVATE KEY', 300, rng), 0o600);
  text(join(etc, 'keys/signing.key'), pem('PRIVATE KEY', 48, rng), 0o600);

  const manifest = {
    generator: GENERATOR_VERSION,
    scale,
    seed,
    out,
    tree,
    files: stats.files,
    dirs: stats.dirs,
    symlinks: stats.symlinks,
    bytes: stats.bytes,
    seconds: Number((Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2)),
  };
  writeToolConfigs(manifest, { log });
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export function readManifest(out) {
  try {
    return JSON.parse(readFileSync(join(resolve(out), 'manifest.json'), 'utf8'));
  } catch {
    return null;
  }
}

function sameTree(m, scale, seed) {
  return m.generator === GENERATOR_VERSION && m.scale === scale && m.seed === seed;
}

/** Escape a path for AIDE's rule lines, which are regular expressions anchored at the start. */
const aideRegex = (p) => p.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

/** Passphrase for the throwaway Tripwire keys of the benchmark; nothing else uses them. */
export const TW_PASS = 'fim-bench-passphrase';

/** The sample tree's fim rules: one per area, the way a real deployment would split them. */
export function sampleRules(tree) {
  return [
    { name: 'bench-app', severity: 'high', path: join(tree, 'srv/celery/app') },
    { name: 'bench-venv', severity: 'high', path: join(tree, 'srv/celery/venv') },
    { name: 'bench-data', severity: 'medium', path: join(tree, 'srv/celery/data') },
    { name: 'bench-config', severity: 'critical', path: join(tree, 'etc/celery') },
  ];
}

/**
 * fim policy + config, AIDE config and Tripwire config/policy/keys for `m.tree`, all written into
 * `m.out`. `rules` are fim's (all `readonly`); the default is the sample tree's four, and
 * bench/scan.mjs passes one rule over the whole tree for a tree it did not make (`--tree`).
 * Idempotent; Tripwire keys are made once (twadmin is slow at it) and only when twadmin exists.
 */
export function writeToolConfigs(
  m,
  { log = () => {}, rules = sampleRules(m.tree), what = 'the sample worker tree' } = {},
) {
  const { out, tree } = m;
  const fimDir = join(out, 'fim');
  mkdirSync(fimDir, { recursive: true });
  const rule = ({ name, severity, path }) =>
    `  - name: ${name}\n    severity: ${severity}\n    paths: [${JSON.stringify(path)}]\n    check: readonly\n    recurse: true\n`;
  writeFileSync(
    join(fimDir, 'policy.yaml'),
    `# Generated by bench/gen-tree.mjs for ${what}. Everything readonly.\nversion: 1\nrules:\n${rules.map(rule).join('')}`,
  );
  // A config of its own, so a host's /etc/fim/fim.yaml (keys, syslog target) never leaks in.
  writeFileSync(
    join(fimDir, 'fim.yaml'),
    `policies: [${JSON.stringify(join(fimDir, 'policy.yaml'))}]\ndatabase: ${JSON.stringify(join(fimDir, 'fim.db'))}\nkeys: ${JSON.stringify(join(fimDir, 'keys'))}\n`,
  );

  // AIDE: the same attributes as fim's readonly, with SHA-256 (AIDE has no BLAKE3).
  const aideDir = join(out, 'aide');
  mkdirSync(aideDir, { recursive: true });
  writeFileSync(
    join(aideDir, 'aide.conf'),
    [
      '# Generated by bench/gen-tree.mjs',
      `database_in=file:${join(aideDir, 'aide.db')}`,
      `database_out=file:${join(aideDir, 'aide.db.new')}`,
      'gzip_dbout=no',
      'report_url=stdout',
      // AIDE hashes its own new database with ~12 digests by default; one is plenty, and keeps
      // the comparison about scanning the tree.
      'database_attrs=sha256',
      'FIM = ftype+p+i+n+u+g+s+m+c+l+sha256',
      // The tree itself (an equals rule) and what is under it: a plain `/usr/share/doc FIM` is a
      // prefix regex and would take /usr/share/doc-base too.
      `=${aideRegex(tree)}$ FIM`,
      `${aideRegex(tree.replace(/\/$/, ''))}/ FIM`,
      '',
    ].join('\n'),
  );

  // Tripwire: SHA-1 is its strongest hash (no SHA-256). Same attribute set otherwise.
  const twDir = join(out, 'tripwire');
  mkdirSync(twDir, { recursive: true });
  const tw = {
    cfgTxt: join(twDir, 'twcfg.txt'),
    polTxt: join(twDir, 'twpol.txt'),
    cfg: join(twDir, 'tw.cfg'),
    pol: join(twDir, 'tw.pol'),
    site: join(twDir, 'site.key'),
    local: join(twDir, 'local.key'),
    db: join(twDir, 'bench.twd'),
    report: join(twDir, 'report.twr'),
  };
  const cfgChanged = writeIfChanged(
    tw.cfgTxt,
    [
      'ROOT          =/usr/sbin',
      `POLFILE       =${tw.pol}`,
      `DBFILE        =${tw.db}`,
      `REPORTFILE    =${tw.report}`,
      `SITEKEYFILE   =${tw.site}`,
      `LOCALKEYFILE  =${tw.local}`,
      'EDITOR        =/bin/vi',
      'LATEPROMPTING =false',
      'LOOSEDIRECTORYCHECKING =false',
      'MAILNOVIOLATIONS =false',
      'EMAILREPORTLEVEL =0',
      'REPORTLEVEL   =0',
      'SYSLOGREPORTING =false',
      'MAILMETHOD    =SENDMAIL',
      'MAILPROGRAM   =/bin/true',
      '',
    ].join('\n'),
  );
  // p perms, i inode, n links, u uid, g gid, t type, s size, d device, m mtime, c ctime, S SHA-1.
  const polChanged = writeIfChanged(
    tw.polTxt,
    `# Generated by bench/gen-tree.mjs\n"${tree}" -> +pinugtsdmcS (recurse = true) ;\n`,
  );
  m.tripwire = { ready: false, ...tw };
  if (!hasCommand('twadmin')) {
    log('tripwire: twadmin not installed; Tripwire files written, keys not generated');
    return m;
  }
  try {
    const run = (args) => execFileSync('twadmin', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // New keys invalidate the signed config and policy, so they are rebuilt below.
    const newKeys = !existsSync(tw.site) || !existsSync(tw.local);
    if (!existsSync(tw.site))
      run(['--generate-keys', '--site-keyfile', tw.site, '--site-passphrase', TW_PASS]);
    if (!existsSync(tw.local))
      run(['--generate-keys', '--local-keyfile', tw.local, '--local-passphrase', TW_PASS]);
    // twadmin sleeps ~2 s after every passphrase, so the signed files are only rebuilt when their
    // text changed (a tree moved) or they are missing.
    if (newKeys || cfgChanged || !existsSync(tw.cfg))
      run([
        '--create-cfgfile',
        '--cfgfile',
        tw.cfg,
        '--site-keyfile',
        tw.site,
        '--site-passphrase',
        TW_PASS,
        tw.cfgTxt,
      ]);
    if (newKeys || polChanged || !existsSync(tw.pol))
      run([
        '--create-polfile',
        '--cfgfile',
        tw.cfg,
        '--polfile',
        tw.pol,
        '--site-keyfile',
        tw.site,
        '--site-passphrase',
        TW_PASS,
        tw.polTxt,
      ]);
    m.tripwire.ready = true;
  } catch (e) {
    log(
      `tripwire: setup failed (${
        String(e.stderr || e.message)
          .trim()
          .split('\n')[0]
      }); it will be skipped`,
    );
  }
  return m;
}

/** Write only when the content differs; returns whether it did. */
function writeIfChanged(path, text) {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return false;
  writeFileSync(path, text);
  return true;
}

export function hasCommand(name) {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// --- command line ---------------------------------------------------------------------------
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      scale: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      force: { type: 'boolean', default: false },
    },
  });
  if (!values.out) {
    process.stderr.write('usage: node bench/gen-tree.mjs --out DIR [--scale S] [--seed N] [--force]\n');
    process.exit(2);
  }
  const m = generate({
    out: values.out,
    scale: Number(values.scale),
    seed: Number(values.seed),
    force: values.force,
    log: (s) => process.stderr.write(`${s}\n`),
  });
  process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
}
