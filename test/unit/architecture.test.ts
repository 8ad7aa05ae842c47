/**
 * The house's rules, read from the source (docs/architecture.md says why each holds): small rooms,
 * arrows that only point down, one importer per third-party package, a library API that only
 * re-exports, and no test hooks read from the environment.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fim.js';

const SRC = join(ROOT, 'src');

function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

interface Import {
  from: string; // src-relative file that imports
  spec: string; // as written
  target: string | null; // src-relative file imported, or null for a package
  typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)) {
    const spec = m[3] ?? '';
    const local = spec.startsWith('.');
    out.push({
      from: relative(SRC, file),
      spec,
      target: local ? relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts') : null,
      typeOnly: m[2] !== undefined,
    });
  }
  return out;
}

const FILES = sources();
const IMPORTS = FILES.flatMap(importsOf);
const room = (f: string) => (f.includes('/') ? f.slice(0, f.indexOf('/')) : f.replace(/\.ts$/, ''));

describe('the house', () => {
  it('has no room over 400 lines', () => {
    const big = FILES.map(
      (f) => [relative(SRC, f), readFileSync(f, 'utf8').split('\n').length - 1] as const,
    ).filter(([, n]) => n > 400);
    expect(big).toEqual([]);
  });

  it('has one importer per third-party package', () => {
    const byPackage = new Map<string, Set<string>>();
    for (const i of IMPORTS) {
      if (i.target !== null || i.spec.startsWith('node:')) continue;
      const set = byPackage.get(i.spec) ?? new Set();
      set.add(i.from);
      byPackage.set(i.spec, set);
    }
    const many = [...byPackage].filter(([, s]) => s.size > 1).map(([p, s]) => `${p}: ${[...s].join(', ')}`);
    expect(many).toEqual([]);
    expect(byPackage.get('@napi-rs/blake-hash')).toEqual(new Set(['hash/blake3.ts']));
    expect(byPackage.get('commander')).toEqual(new Set(['cli/main.ts']));
  });

  it('lets nothing import the CLI, and only the CLI, the demo and the index import the API', () => {
    const intoCli = IMPORTS.filter((i) => i.target?.startsWith('cli/') && room(i.from) !== 'cli');
    expect(intoCli.map((i) => `${i.from} -> ${i.spec}`)).toEqual([]);
    const intoApi = IMPORTS.filter(
      (i) => i.target?.startsWith('api/') && !['cli', 'demo', 'api', 'index'].includes(room(i.from)),
    );
    expect(intoApi.map((i) => `${i.from} -> ${i.spec}`)).toEqual([]);
  });

  it('keeps the reporters to the domain types and display helpers', () => {
    const allowed = new Set(['attributes.ts', 'display.ts', 'ns-time.ts', 'types.ts']);
    const bad = IMPORTS.filter(
      (i) =>
        room(i.from) === 'report' &&
        i.target !== null &&
        room(i.target) !== 'report' &&
        !allowed.has(i.target) &&
        !(room(i.target) === 'compare' && i.typeOnly),
    );
    expect(bad.map((i) => `${i.from} -> ${i.spec}`)).toEqual([]);
  });

  it("keeps the verifier to alert's format, the keys and the leaf modules", () => {
    const allowed = new Set([
      'alert/format.ts',
      'alert/sd.ts',
      'display.ts',
      'errors.ts',
      'types.ts',
      'path-key.ts',
    ]);
    const bad = IMPORTS.filter(
      (i) =>
        room(i.from) === 'verify' &&
        i.target !== null &&
        room(i.target) !== 'verify' &&
        room(i.target) !== 'keys' &&
        !allowed.has(i.target),
    );
    expect(bad.map((i) => `${i.from} -> ${i.spec}`)).toEqual([]);
  });

  it('keeps the fleet status pure: the verifier, the types and display, no node: module', () => {
    const allowed = new Set(['display.ts', 'types.ts']);
    const bad = IMPORTS.filter(
      (i) =>
        room(i.from) === 'fleet' &&
        (i.target === null
          ? true
          : room(i.target) !== 'fleet' &&
            !(room(i.target) === 'verify' && i.target === 'verify/index.ts') &&
            !allowed.has(i.target)),
    );
    expect(bad.map((i) => `${i.from} -> ${i.spec}`)).toEqual([]);
    expect(FILES.some((f) => relative(SRC, f).startsWith('fleet/'))).toBe(true);
  });

  it('has a library index that only re-exports', () => {
    const text = readFileSync(join(SRC, 'index.ts'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    const statements = text
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean);
    expect(statements.length).toBeGreaterThan(5);
    for (const s of statements) expect(s).toMatch(/^export\s[\s\S]*\sfrom\s'\.\/[^']+'$/);
  });

  it('reads no test hooks from the environment', () => {
    const hooks = FILES.filter((f) => readFileSync(f, 'utf8').includes('FIM_TEST_')).map((f) =>
      relative(SRC, f),
    );
    expect(hooks).toEqual([]);
  });
});
