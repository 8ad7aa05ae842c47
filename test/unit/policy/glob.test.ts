/**
 * Exclude globs (design.md "Policy files": `exclude: ["/srv/celery/app/tmp/**"]`, globs over the
 * absolute path). Paths are bytes: the matcher sees them as latin1 strings, one char per byte, so a
 * name that is not UTF-8 is matched too and never mangled.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classProblem, compileGlob, globProblem } from '../../../src/policy/glob.js';

/** Match a glob against a path given as UTF-8 text or raw bytes, the way rule-index does. */
function matches(pattern: string, path: string | Buffer): boolean {
  const bytes = typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
  return compileGlob(pattern).test(bytes.toString('latin1'));
}

const raw = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

interface Case {
  pattern: string;
  path: string | Buffer;
  match: boolean;
}

function table(title: string, cases: Case[]): void {
  describe(title, () => {
    it.each(
      cases.map((c) => ({
        ...c,
        shown: typeof c.path === 'string' ? c.path : c.path.toString('latin1'),
      })),
    )('$pattern vs $shown → $match', ({ pattern, path, match }) => {
      expect(matches(pattern, path)).toBe(match);
    });
  });
}

table('literal patterns', [
  { pattern: '/srv/app/tmp', path: '/srv/app/tmp', match: true },
  { pattern: '/srv/app/tmp', path: '/srv/app/tmpx', match: false },
  { pattern: '/srv/app/tmp', path: '/srv/app/tm', match: false },
  { pattern: '/srv/app/tmp', path: '/srv/app/tmp/x', match: false },
  // regular-expression characters are literal
  { pattern: '/a/b.c', path: '/a/b.c', match: true },
  { pattern: '/a/b.c', path: '/a/bxc', match: false },
  { pattern: '/a/x+', path: '/a/xx', match: false },
  { pattern: '/a/x+', path: '/a/x+', match: true },
  { pattern: '/a/(x)|y', path: '/a/(x)|y', match: true },
  { pattern: '/a/(x)|y', path: 'y', match: false },
  { pattern: '/a/$x^{2}', path: '/a/$x^{2}', match: true },
]);

table('* does not cross /', [
  { pattern: '/srv/app/*.log', path: '/srv/app/x.log', match: true },
  { pattern: '/srv/app/*.log', path: '/srv/app/.log', match: true },
  { pattern: '/srv/app/*.log', path: '/srv/app/sub/x.log', match: false },
  { pattern: '/srv/app/*.log', path: '/srv/app/x.log.1', match: false },
  { pattern: '/srv/*/cache', path: '/srv/app/cache', match: true },
  { pattern: '/srv/*/cache', path: '/srv/a/b/cache', match: false },
  { pattern: '/srv/app/*', path: '/srv/app/x', match: true },
  { pattern: '/srv/app/*', path: '/srv/app/x/y', match: false },
  { pattern: '/srv/app/*', path: '/srv/app', match: false },
  { pattern: '/srv/a*b', path: '/srv/ab', match: true },
  { pattern: '/srv/a*b', path: '/srv/a/b', match: false },
]);

table('** crosses /', [
  { pattern: '/srv/**.log', path: '/srv/x.log', match: true },
  { pattern: '/srv/**.log', path: '/srv/a/b/c/x.log', match: true },
  { pattern: '/srv/**.log', path: '/other/x.log', match: false },
  { pattern: '/srv/a**', path: '/srv/abc/def', match: true },
]);

table('trailing /** matches the directory itself and everything below', [
  { pattern: '/srv/app/tmp/**', path: '/srv/app/tmp', match: true },
  { pattern: '/srv/app/tmp/**', path: '/srv/app/tmp/x', match: true },
  { pattern: '/srv/app/tmp/**', path: '/srv/app/tmp/x/y/z', match: true },
  { pattern: '/srv/app/tmp/**', path: '/srv/app/tmpfile', match: false },
  { pattern: '/srv/app/tmp/**', path: '/srv/app/tmp2/x', match: false },
  { pattern: '/srv/app/tmp/**', path: '/srv/app', match: false },
  { pattern: '/srv/app/tmp/**', path: '/srv/app/x/tmp/y', match: false },
  // the example of design.md
  { pattern: '/srv/celery/app/tmp/**', path: '/srv/celery/app/tmp/job.pid', match: true },
  { pattern: '/srv/celery/app/tmp/**', path: '/srv/celery/app/tasks.py', match: false },
  // a file name with a newline below an excluded directory
  { pattern: '/srv/app/tmp/**', path: '/srv/app/tmp/a\nb', match: true },
  // ** anywhere: any "tmp" directory and its subtree
  { pattern: '**/tmp/**', path: '/x/tmp', match: true },
  { pattern: '**/tmp/**', path: '/x/y/tmp/z', match: true },
  { pattern: '**/tmp/**', path: '/x/tmpx/z', match: false },
  { pattern: '/srv/*/tmp/**', path: '/srv/app/tmp/z', match: true },
  { pattern: '/srv/*/tmp/**', path: '/srv/a/b/tmp/z', match: false },
]);

table('**/ in the middle: zero or more whole directories', [
  { pattern: '/srv/**/cache', path: '/srv/cache', match: true },
  { pattern: '/srv/**/cache', path: '/srv/a/cache', match: true },
  { pattern: '/srv/**/cache', path: '/srv/a/b/c/cache', match: true },
  { pattern: '/srv/**/cache', path: '/srv/acache', match: false },
  { pattern: '/srv/**/cache', path: '/srvcache', match: false },
  { pattern: '/srv/**/cache', path: '/srv/a/cache/x', match: false },
  { pattern: '/srv/**/*.pyc', path: '/srv/app/__pycache__/m.cpython-312.pyc', match: true },
  { pattern: '/srv/**/*.pyc', path: '/srv/m.pyc', match: true },
  { pattern: '**/node_modules', path: '/node_modules', match: true },
  { pattern: '**/node_modules', path: '/a/b/node_modules', match: true },
  { pattern: '**/node_modules', path: '/a/b/node_modulesx', match: false },
]);

table('? is one character, never /', [
  { pattern: '/a/?.py', path: '/a/x.py', match: true },
  { pattern: '/a/?.py', path: '/a/.py', match: false },
  { pattern: '/a/?.py', path: '/a/xy.py', match: false },
  { pattern: '/a?b', path: '/a/b', match: false },
  { pattern: '/a/?', path: '/a/\n', match: true },
  // one UTF-8 character is one `?`, whatever its length in bytes
  { pattern: '/a/?.py', path: '/a/é.py', match: true },
  { pattern: '/a/?.py', path: '/a/€.py', match: true },
  { pattern: '/a/?.py', path: '/a/😀.py', match: true },
  { pattern: '/a/??.py', path: '/a/é.py', match: false },
]);

table('[...] classes', [
  { pattern: '/a/[abc].py', path: '/a/b.py', match: true },
  { pattern: '/a/[abc].py', path: '/a/d.py', match: false },
  { pattern: '/a/[abc].py', path: '/a/ab.py', match: false },
  { pattern: '/a/[a-c]x', path: '/a/bx', match: true },
  { pattern: '/a/[a-c]x', path: '/a/dx', match: false },
  { pattern: '/a/[0-9][0-9]', path: '/a/42', match: true },
  { pattern: '/a/[0-9][0-9]', path: '/a/4x', match: false },
  { pattern: '/a/[!abc].py', path: '/a/d.py', match: true },
  { pattern: '/a/[!abc].py', path: '/a/a.py', match: false },
  { pattern: '/a/[^abc].py', path: '/a/d.py', match: true },
  { pattern: '/a/[^abc].py', path: '/a/c.py', match: false },
  // a negated class never matches the separator
  { pattern: '/a[!x]b', path: '/a/b', match: false },
  // "]" first in a class is literal
  { pattern: '/a/[]x]', path: '/a/]', match: true },
  { pattern: '/a/[]x]', path: '/a/x', match: true },
  // an unclosed "[" is literal
  { pattern: '/a/[x', path: '/a/[x', match: true },
  { pattern: '/a/[x', path: '/a/x', match: false },
]);

table('non-UTF-8 path bytes are matched byte for byte (latin1 semantics)', [
  { pattern: '/srv/app/*.py', path: raw('/srv/app/', [0xff], '.py'), match: true },
  { pattern: '/srv/app/*.py', path: raw('/srv/app/', [0xfe, 0xff, 0x80], '.py'), match: true },
  { pattern: '/srv/app/*.py', path: raw('/srv/app/', [0xff], '/x.py'), match: false },
  { pattern: '/srv/app/?.py', path: raw('/srv/app/', [0xff], '.py'), match: true },
  // two invalid bytes are two characters
  { pattern: '/srv/app/?.py', path: raw('/srv/app/', [0xff, 0xfe], '.py'), match: false },
  { pattern: '/srv/app/??.py', path: raw('/srv/app/', [0xff, 0xfe], '.py'), match: true },
  { pattern: '/srv/app/?', path: raw('/srv/app/', [0xc3]), match: true },
  { pattern: '/srv/app/?', path: raw('/srv/app/', [0x80]), match: true },
  { pattern: '/srv/**/x', path: raw('/srv/', [0xff, 0x0a], '/x'), match: true },
  { pattern: '/srv/tmp/**', path: raw('/srv/tmp/', [0xff]), match: true },
  // a UTF-8 pattern matches the UTF-8 bytes, not a latin1 lookalike or another normal form
  { pattern: '/srv/café', path: '/srv/café', match: true },
  { pattern: '/srv/café', path: raw('/srv/caf', [0xe9]), match: false },
  { pattern: '/srv/café', path: '/srv/cafe\u0301', match: false },
  { pattern: '/srv/é*', path: '/srv/étoile', match: true },
  // \xff.py and \xfe.py are different files: a literal pattern for one does not match the other
  { pattern: '/srv/[!a].py', path: raw('/srv/', [0xfe], '.py'), match: true },
]);

describe('compileGlob', () => {
  it('anchors the whole path', () => {
    expect(matches('/a/b', '/x/a/b')).toBe(false);
    expect(matches('/a/b', '/a/b/')).toBe(false);
  });

  it('compiles every pattern shape without throwing', () => {
    for (const p of ['/a/**', '**', '/**', '**/x/**', '/a/**/b/**', '/a/*/**', '/a/[', '/a/[]', '/a/\\']) {
      expect(() => compileGlob(p), p).not.toThrow();
    }
  });

  it('"/**" matches every absolute path', () => {
    expect(matches('/**', '/')).toBe(true);
    expect(matches('/**', '/etc/passwd')).toBe(true);
  });
});

describe('globProblem', () => {
  it.each(['/srv/app/tmp/**', '**/tmp/**', '**/*.log', '**'])('accepts %s', (p) => {
    expect(globProblem(p)).toBeUndefined();
  });

  it.each(['tmp/**', 'srv/app', '?/x', '[a]/x', ''])('refuses the relative pattern "%s"', (p) => {
    expect(globProblem(p)).toMatch(/must be absolute/);
  });

  // A pattern starting with a single "*" can never match an absolute path ("*" stops at "/"), so
  // it would silently exclude nothing: it must be refused like a relative one.
  it.each(['*.log', '*/tmp/**', '*tmp'])('refuses "%s", which could never match an absolute path', (p) => {
    expect(compileGlob(p).test('/srv/app/x.log')).toBe(false);
    expect(globProblem(p)).toMatch(/must be absolute/);
  });
});

describe('linear-time matching', () => {
  const part = fc.constantFrom('a', 'b', '/', '*', '**', '**/', '/**', '?', '[ab]', '[!a]', '\u00e9');
  const pattern = fc.array(part, { maxLength: 10 }).map((ps) => `/${ps.join('')}`);
  const pathByte = fc.constantFrom(0x61, 0x62, 0x2f, 0xc3, 0xa9, 0xff, 0x80);
  const path = fc
    .uint8Array({ maxLength: 14 })
    .chain((u) => fc.array(pathByte, { minLength: u.length, maxLength: u.length }))
    .map((bs) => Buffer.concat([Buffer.from('/'), Buffer.from(bs)]).toString('latin1'));

  it('the NFA and the regular expression agree on every pattern and path', () => {
    fc.assert(
      fc.property(pattern, path, (pat, p) => {
        expect(compileGlob(pat, 'nfa').test(p)).toBe(compileGlob(pat, 'regexp').test(p));
      }),
      { numRuns: 20_000 },
    );
  });

  it('a pattern of many ** against a long hostile name ends at once (it never ended before)', () => {
    const hostile = `/${'a/'.repeat(1000)}b`;
    for (const pat of [
      `/${'**/'.repeat(1000)}c`,
      `/${'*a'.repeat(200)}c`,
      `/**/a/**/a/**/a/**/a/**/a/**/a/**/c`,
    ]) {
      const g = compileGlob(pat);
      const start = performance.now();
      expect(g.test(hostile)).toBe(false);
      // Linear: a few milliseconds; the backtracking matcher took seconds at 7 "**" and never ended at 1000.
      expect(performance.now() - start).toBeLessThan(2000);
    }
    expect(compileGlob(`/${'**/'.repeat(1000)}b`).test(hostile)).toBe(true);
  });

  it('refuses a pattern longer than 4 KiB as a policy problem', () => {
    expect(classProblem(`/${'a'.repeat(5000)}`)).toMatch(/longer than 4096 bytes/);
  });
});
