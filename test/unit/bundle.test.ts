/**
 * The CLI's bundle (scripts/bundle.mjs): bin/fim runs it, it is one set of files that loads no
 * module of dist/ (which would load fim's code twice and undo the faster start), and every worker
 * thread's (and the row reader process's) script that the code names in dist/bundle/ is there. A worker added without its entry
 * in the bundle would leave a split scan on one thread and the daemon without its scan worker.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIM, ROOT } from '../helpers/fim.js';

const BUNDLE = join(ROOT, 'dist', 'bundle');
const NATIVE = ['better-sqlite3', 'koffi', '@napi-rs/blake-hash'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every module specifier a file of the bundle imports, statically or dynamically. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']/gm))
    out.push(m[1] ?? '');
  for (const m of text.matchAll(/(?:^|[\s;])import\s*["']([^"']+)["']/gm)) out.push(m[1] ?? '');
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) out.push(m[1] ?? '');
  return out;
}

describe('the CLI bundle', () => {
  it('is what bin/fim runs', () => {
    expect(readFileSync(FIM, 'utf8')).toMatch(/from '\.\.\/dist\/bundle\/fim\.js'/);
    const r = spawnSync(FIM, ['--version'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(
      (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });

  it('starts without reading NODE_EXTRA_CA_CERTS (node parses that bundle at every start)', () => {
    // bin/fim's `env -u`: the log server's CA is syslog.ca. Node warns of a bundle it cannot load,
    // so a missing one shows whether it was read at all.
    const r = spawnSync(FIM, ['--version'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/fim-extra-ca.pem' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/extra certs/i);
  });

  it('imports only Node, the native packages and its own chunks', () => {
    const files = readdirSync(BUNDLE).filter((f) => f.endsWith('.js'));
    expect(files).toContain('fim.js');
    const bad: string[] = [];
    for (const f of files) {
      for (const s of specifiers(readFileSync(join(BUNDLE, f), 'utf8'))) {
        const own = /^\.\/[^/]+\.js$/.test(s) && files.includes(s.slice(2));
        if (!(own || s.startsWith('node:') || NATIVE.includes(s))) bad.push(`${f}: ${s}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('holds no chunk its entries do not load (a stale one would ship with the package)', () => {
    const files = readdirSync(BUNDLE).filter((f) => f.endsWith('.js'));
    const reached = new Set<string>();
    const todo = ['fim.js', 'split-worker.js', 'scan-worker.js', 'fanotify-reader.js', 'row-process.js'];
    for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
      if (reached.has(f)) continue;
      reached.add(f);
      for (const s of specifiers(readFileSync(join(BUNDLE, f), 'utf8')))
        if (s.startsWith('./')) todo.push(s.slice(2));
    }
    expect(files.filter((f) => !reached.has(f))).toEqual([]);
  });

  it('holds the script of every worker thread the code starts from it', () => {
    const named = new Set<string>();
    for (const file of sources(join(ROOT, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/new URL\('\.\.\/bundle\/([^']+)'/g)) {
        named.add(`${relative(ROOT, file)}: ${m[1]}`);
        expect(
          existsSync(join(BUNDLE, m[1] ?? '')),
          `${relative(ROOT, file)} names dist/bundle/${m[1]}`,
        ).toBe(true);
      }
    }
    // The split scan's workers, the daemon's scan worker, the fanotify reader, and the process
    // that reads a --fast check's rows.
    expect([...named].map((n) => n.split(': ')[1]).sort()).toEqual([
      'fanotify-reader.js',
      'row-process.js',
      'scan-worker.js',
      'split-worker.js',
    ]);
    // And no worker started from the module's own URL, which in the bundle is the bundle's.
    for (const file of sources(join(ROOT, 'src')))
      expect(readFileSync(file, 'utf8'), relative(ROOT, file)).not.toMatch(
        /new Worker\(new URL\(import\.meta\.url\)/,
      );
  });

  it("keeps every error class's name, and wraps no function to keep its name", () => {
    // FimError's name is new.target.name and a worker's errors are rebuilt by name
    // (worker-error.ts): a class renamed for a collision (PolicyError2) would change both.
    const errors = readFileSync(join(ROOT, 'src', 'errors.ts'), 'utf8');
    const classes = [...errors.matchAll(/^export class (\w+) extends/gm)].map((m) => m[1] ?? '');
    expect(classes).toContain('PolicyError');
    const text = readdirSync(BUNDLE)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(BUNDLE, f), 'utf8'))
      .join('\n');
    // `var X = class extends` is named X; `var X = class _X extends` (a class that names itself in
    // its body) is named _X.
    for (const c of classes)
      expect(text, c).toMatch(new RegExp(`\\b(?:class ${c}|var ${c} = class) extends\\b`));
    // esbuild's keepNames defines `name` on every closure as it is created (about 8% of a check).
    expect(text).not.toMatch(/\b__name\(/);
  });
});
