/**
 * The commands the scan benchmark times, one case each: fim's (baseline, check, check --fast),
 * the references every ratio is taken against (b3sum on one core, b3sum on every core, a find stat
 * walk), AIDE and Tripwire. Each case: argv, what to do before and after a run, and which exit
 * codes mean "ran, but could not read everything" rather than "failed".
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { hasCommand } from '../gen-tree.mjs';
import { q } from './run.mjs';

/** The references, by id; `ref` names them in the ratio table. */
export const REFS = [
  { id: 'b3sum-1t', ref: 'b3sum 1 thread' },
  { id: 'b3sum-cores', ref: 'b3sum on all cores' },
  { id: 'stat-walk', ref: 'find stat walk' },
];
export const FIM_CASES = ['fim-baseline', 'fim-check', 'fim-check-fast'];

let aideWorkers;
export function aideSupportsWorkers() {
  aideWorkers ??= /--workers/.test(spawnSync('aide', ['--help'], { encoding: 'utf8' }).stdout ?? '');
  return aideWorkers;
}

/** fim's JSON: the entries it could not read (baseline: `errors`; check: the same, and the summary). */
function fimErrors(j) {
  const list = Array.isArray(j.errors) ? j.errors : [];
  return {
    errors: j.summary?.errors ?? list.length,
    errorSample: list.slice(0, 5).map((e) => `${e.code ?? '?'} ${e.path ?? ''}`.trim()),
  };
}

/**
 * What an exit code says, for the table and for whether the time counts: `ok`; `changes` (a check
 * that found the tree changed between rounds: it ran to the end); `partial` (ran to the end but
 * could not read some entries); `failed`. Cases without `classify`: anything but 0 failed.
 */
export const classifyExit = (c, code) =>
  code === null ? 'failed' : c.classify ? c.classify(code) : code === 0 ? 'ok' : 'failed';

/** fim: bits 1, 2, 4 added, removed, changed; 8 some entries could not be checked; 16+ stopped. */
const fimCode = (code) => (code === 0 ? 'ok' : code < 8 ? 'changes' : code < 16 ? 'partial' : 'failed');

/** find | xargs b3sum: xargs exits 123 when some b3sum exited 1-125 (a file it could not read). */
const xargsCode = (code) => (code === 0 ? 'ok' : code === 123 ? 'partial' : 'failed');

const parse = (s) => {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
};

/**
 * `fim` is bin/fim; `m` the tree (out, tree, tripwire); `tools` what --only asked for. The
 * references always run: every ratio needs them.
 */
export function buildCases({ m, tools, fim, threads = [] }) {
  const aideConf = join(m.out, 'aide/aide.conf');
  const aideDb = join(m.out, 'aide/aide.db');
  const tw = m.tripwire;
  const tree = q(m.tree);
  const cores = cpus().length;
  const cases = [];
  // --threads 1,2: fim's cases once per scan.threads value, each with a configuration and a
  // database of its own, in the same interleaved rounds; ids beyond the first carry "-tN".
  const variants = threads.length ? threads : [null];
  if (tools.includes('fim'))
    for (const [vi, t] of variants.entries()) {
      const base = join(m.out, 'fim/fim.yaml');
      const suffix = vi === 0 ? '' : `-t${t}`;
      const tag = t === null ? '' : ` (threads ${t})`;
      const fimCfg = t === null ? base : join(m.out, `fim/fim-t${t}.yaml`);
      const fimDb = t === null ? join(m.out, 'fim/fim.db') : join(m.out, `fim/fim-t${t}.db`);
      if (t !== null) {
        const text = readFileSync(base, 'utf8').replace(
          /^database: .*$/m,
          `database: ${JSON.stringify(fimDb)}`,
        );
        writeFileSync(fimCfg, `${text.trimEnd()}\nscan: { threads: ${t} }\n`);
      }
      cases.push({
        id: `fim-baseline${suffix}`,
        label: `fim baseline${tag}`,
        // A fresh database per run: a baseline appended to an old one would inflate bytes per file.
        before: () => {
          for (const s of ['', '-wal', '-shm', '-journal']) rmSync(fimDb + s, { force: true });
        },
        argv: [fim, 'baseline', '--config', fimCfg, '--json'],
        captureStdout: true,
        classify: fimCode,
        after: (r) => {
          const j = parse(r.stdout);
          if (!j) return {};
          const dbBytes = ['', '-wal'].reduce(
            (n, s) => n + (existsSync(fimDb + s) ? statSync(fimDb + s).size : 0),
            0,
          );
          return { entries: j.files, dbBytes, ...fimErrors(j) };
        },
      });
      for (const fast of [false, true]) {
        cases.push({
          id: `${fast ? 'fim-check-fast' : 'fim-check'}${suffix}`,
          label: `${fast ? 'fim check --fast' : 'fim check'}${tag}`,
          argv: [fim, 'check', ...(fast ? ['--fast'] : []), '--config', fimCfg, '--json'],
          captureStdout: true,
          classify: fimCode,
          after: (r) => {
            const j = parse(r.stdout);
            return j ? { summary: j.summary, ...fimErrors(j) } : {};
          },
        });
      }
    }
  if (hasCommand('b3sum')) {
    // xargs splits the list under ARG_MAX; find runs alongside, as a walk would.
    const files = `find ${tree} -xdev -type f -print0 | xargs -0`;
    cases.push({
      id: 'b3sum-1t',
      label: 'b3sum --num-threads 1',
      argv: ['sh', '-c', `${files} b3sum --num-threads 1 > /dev/null`],
      classify: xargsCode,
    });
    // Two ways to keep every core hashing, both timed; the faster median is the reference. Batches
    // of 256 files in `cores` processes keep the small files spread; a batch that holds the large
    // files would leave one core idle with one thread per process, hence the variant whose b3sum
    // also splits each large file over the cores (its mmap + multi-threaded hashing).
    cases.push({
      id: 'b3sum-cores-1t',
      label: `b3sum xargs -P ${cores}, 1 thread`,
      ref: 'b3sum-cores',
      argv: ['sh', '-c', `${files} -P ${cores} -n 256 b3sum --num-threads 1 > /dev/null`],
      classify: xargsCode,
    });
    cases.push({
      id: 'b3sum-cores-nt',
      label: `b3sum xargs -P ${cores}, ${cores} threads`,
      ref: 'b3sum-cores',
      argv: ['sh', '-c', `${files} -P ${cores} -n 256 b3sum --num-threads ${cores} > /dev/null`],
      classify: xargsCode,
    });
  }
  cases.push({
    id: 'stat-walk',
    label: 'find -printf stat walk',
    // Numeric owner and group (%U %G): %u %g make find look every name up again (no cache),
    // which on /usr here took 2.1 s against 0.48 s; fim stores the numbers.
    argv: ['sh', '-c', `find ${tree} -xdev -printf '%i %m %U %G %s %T@ %C@\\n' > /dev/null`],
    // find exits 1 when it could not read something and goes on with the rest.
    classify: (code) => (code === 0 ? 'ok' : code === 1 ? 'partial' : 'failed'),
  });
  if (tools.includes('aide') && hasCommand('aide')) {
    const workers = aideSupportsWorkers() ? [2] : [null];
    for (const w of workers) {
      const wArg = w ? [`--workers=${w}`] : [];
      cases.push({
        id: 'aide-init',
        label: `AIDE init${w ? ` --workers ${w}` : ''}`,
        before: () => rmSync(`${aideDb}.new`, { force: true }),
        argv: ['aide', '--init', '--config', aideConf, ...wArg],
        // The check compares against the database this init just wrote.
        after: () => (existsSync(`${aideDb}.new`) ? renameSync(`${aideDb}.new`, aideDb) : undefined),
      });
      cases.push({
        id: 'aide-check',
        label: `AIDE check${w ? ` --workers ${w}` : ''}`,
        argv: ['aide', '--check', '--config', aideConf, ...wArg],
        // 1..7: added, removed, changed entries (bits, as fim's); 14 and up: AIDE's errors.
        classify: (code) => (code === 0 ? 'ok' : code < 8 ? 'changes' : 'failed'),
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
      // 1, 2, 4: added, removed, changed; 8: Tripwire's "an error occurred" bit.
      classify: (code) => (code === 0 ? 'ok' : code < 8 ? 'changes' : code < 16 ? 'partial' : 'failed'),
      argv: ['tripwire', '--check', '-c', tw.cfg, '-p', tw.pol, '-n', '-s'],
    });
  }
  return cases;
}
