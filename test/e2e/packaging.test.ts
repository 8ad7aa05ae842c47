/**
 * The README's quick start, exactly as written, in a fresh copy of the repository, and the npm
 * package installed globally into a clean prefix. Both compile better-sqlite3 from source (a minute
 * or two), so they run with FIM_LONG_TESTS (set by .ci/run); `npm test` alone runs a cheaper check
 * that the quick start block is what the test would run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fim.js';

const LONG = Boolean(process.env.FIM_LONG_TESTS);

function quickStart(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').filter((l) => l.trim() !== '');
}

describe('quick start and packaging', () => {
  it('the README quick start is two commands: install and demo, then the tests', () => {
    expect(quickStart()).toEqual(['npm install && npx fim demo', 'npm test']);
  });

  it('the lock holds every optional package its dependencies list (npm ci refuses it otherwise)', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>;
    };
    const missing: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
        if (!lock.packages[`node_modules/${name}`]) missing.push(`${name}@${version} (for ${where})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it.runIf(LONG)(
    'the quick start runs exactly as written in a fresh clone',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'fim-quickstart-'));
      try {
        execFileSync('git', ['clone', '--quiet', ROOT, join(dir, 'fim')]);
        const first = quickStart()[0]!;
        const r = spawnSync('bash', ['-c', first], {
          cwd: join(dir, 'fim'),
          encoding: 'utf8',
          timeout: 600_000,
        });
        expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(r.stdout).toContain('Demo complete');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    900_000,
  );

  it.runIf(LONG)(
    'npm pack gives a tarball that npm install -g turns into a working fim',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'fim-pack-'));
      try {
        const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {
          cwd: ROOT,
          encoding: 'utf8',
        }).trim();
        const prefix = join(dir, 'prefix');
        execFileSync('npm', ['install', '-g', '--prefix', prefix, join(dir, tgz)], {
          stdio: 'pipe',
          timeout: 600_000,
        });
        const bin = join(prefix, 'bin', 'fim');
        const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
        expect(v.status).toBe(0);
        const help = spawnSync(bin, ['help', 'watch'], { encoding: 'utf8' });
        expect(help.stdout).toContain('daemon');
        const demo = spawnSync(bin, ['demo'], { encoding: 'utf8', timeout: 120_000 });
        expect(demo.status, demo.stdout + demo.stderr).toBe(0);
        // no dev tools inside: the package runs from its built code
        const listing = execFileSync('tar', ['-tzf', join(dir, tgz)], { encoding: 'utf8' });
        expect(listing).toContain('package/dist/cli/main.js');
        expect(listing).toContain('package/dist/bundle/fim.js');
        expect(listing).toContain('package/docs/fim.1');
        expect(listing).not.toContain('package/src/');
        // `man fim` works after a global install
        expect(existsSync(join(prefix, 'share', 'man', 'man1', 'fim.1'))).toBe(true);
        expect(existsSync(join(prefix, 'share', 'man', 'man5', 'fim.yaml.5'))).toBe(true);
        expect(existsSync(join(prefix, 'share', 'man', 'man5', 'fim-policy.5'))).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    900_000,
  );
});
