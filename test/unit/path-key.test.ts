/**
 * The path key fixes the order of the walk, the stored baseline and the root hash: these
 * properties are what the streaming compare relies on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dirCode,
  joinKey,
  joinPath,
  keyAsDir,
  keyToPath,
  keyWithin,
  outermostKeys,
  pathToKey,
  ScopeSet,
  SortedKeys,
  splitKey,
} from '../../src/path-key.js';

/** A name: 1-6 bytes, any value but NUL and "/" (biased towards ones that sort near separators). */
const nameArb = fc
  .array(fc.oneof(fc.constantFrom(1, 0x2e, 0x30, 0x61, 0x62, 0xff), fc.integer({ min: 1, max: 255 })), {
    minLength: 1,
    maxLength: 6,
  })
  .map((bytes) =>
    Buffer.from(bytes.filter((b) => b !== 0x2f).length ? bytes.filter((b) => b !== 0x2f) : [0x61]),
  );

const pathArb = fc
  .array(nameArb, { minLength: 1, maxLength: 5 })
  .map((parts) => Buffer.concat(parts.flatMap((p) => [Buffer.from('/'), p])));

/** The walk's order, by construction: a directory's entries by name, then each subdirectory. */
function walkOrder(paths: Buffer[]): Buffer[] {
  const all = new Map<string, Buffer>();
  for (const p of paths) {
    // include every ancestor, as a real tree would
    for (let i = 1; i <= p.length; i++)
      if (i === p.length || p[i] === 0x2f) all.set(p.subarray(0, i).toString('latin1'), p.subarray(0, i));
  }
  const children = (dir: string) =>
    [...all.values()]
      .filter((p) => {
        const s = p.toString('latin1');
        const parent = s.slice(0, s.lastIndexOf('/')) || '/';
        return parent === dir && s !== '/';
      })
      .sort((a, b) =>
        Buffer.compare(a.subarray(a.lastIndexOf(0x2f) + 1), b.subarray(b.lastIndexOf(0x2f) + 1)),
      );
  const out: Buffer[] = [];
  const visit = (dir: string) => {
    const kids = children(dir);
    out.push(...kids);
    for (const k of kids) visit(k.toString('latin1'));
  };
  visit('/');
  return out;
}

/** The key of a path as path-key.ts's comment defines it, written the slow way. */
function keyByDefinition(path: Buffer): Buffer {
  const names = path
    .toString('latin1')
    .split('/')
    .filter((c) => c.length > 0)
    .map((c) => Buffer.from(c, 'latin1'));
  return Buffer.concat(names.flatMap((n, i) => [Buffer.from([0, i === names.length - 1 ? 0 : 1]), n]));
}

describe('path keys', () => {
  it('are what the definition says, for paths with doubled and trailing slashes too', () => {
    const sloppy = fc
      .array(fc.tuple(nameArb, fc.constantFrom('/', '//', '///')), { minLength: 0, maxLength: 5 })
      .map((parts) =>
        Buffer.concat(parts.flatMap(([n, sep]) => [Buffer.from(sep), n]).concat(Buffer.from('/'))),
      );
    fc.assert(fc.property(fc.oneof(pathArb, sloppy), (p) => pathToKey(p).equals(keyByDefinition(p))));
    expect(pathToKey(Buffer.from('//')).length).toBe(0);
  });

  it('joinPath is dir + "/" + name, with no doubled slash at the root', () => {
    fc.assert(
      fc.property(pathArb, nameArb, (d, n) => joinPath(d, n).equals(Buffer.concat([d, Buffer.from('/'), n]))),
    );
    expect(joinPath(Buffer.from('/'), Buffer.from('etc')).toString()).toBe('/etc');
  });

  it('round-trips every path, and "/" is the empty key that sorts first', () => {
    fc.assert(fc.property(pathArb, (p) => keyToPath(pathToKey(p)).equals(p)));
    expect(pathToKey(Buffer.from('/')).length).toBe(0);
    expect(keyToPath(Buffer.alloc(0)).toString()).toBe('/');
  });

  it('round-trips names of every length, short ones copied byte by byte and long ones at once', () => {
    // path-key.ts copies a component of more than 64 bytes with one set(): both ways, mixed.
    const long = fc.integer({ min: 1, max: 300 }).map((n) => Buffer.alloc(n, 0x61 + (n % 26)));
    const mixed = fc
      .array(fc.oneof(nameArb, long), { minLength: 1, maxLength: 6 })
      .map((cs) => Buffer.from(`/${cs.map((c) => c.toString('latin1')).join('/')}`, 'latin1'));
    fc.assert(
      fc.property(mixed, (p) => {
        const key = pathToKey(p);
        return key.equals(keyByDefinition(p)) && keyToPath(key).equals(p);
      }),
    );
  });

  it('byte order of keys is the walk order: entries first, then subdirectories', () => {
    fc.assert(
      fc.property(fc.array(pathArb, { minLength: 1, maxLength: 12 }), (paths) => {
        const expected = walkOrder(paths).map((p) => p.toString('latin1'));
        const byKey = walkOrder(paths)
          .map((p) => ({ p, k: pathToKey(p) }))
          .sort((a, b) => Buffer.compare(a.k, b.k))
          .map((x) => x.p.toString('latin1'));
        expect(byKey).toEqual(expected);
      }),
    );
    // the classic trap: "/a/b.c" is an entry of /a, "/a/b/c" is deeper
    const order = ['/a/b/c', '/a/b.c', '/a/b', '/b']
      .map((s) => Buffer.from(s))
      .sort((x, y) => Buffer.compare(pathToKey(x), pathToKey(y)));
    expect(order.map(String)).toEqual(['/b', '/a/b', '/a/b.c', '/a/b/c']);
  });

  it('keyWithin is exactly "the same path or below it"', () => {
    fc.assert(
      fc.property(pathArb, pathArb, (a, b) => {
        const sa = a.toString('latin1');
        const sb = b.toString('latin1');
        const expected = sa === sb || sa.startsWith(`${sb}/`);
        expect(keyWithin(pathToKey(a), pathToKey(b))).toBe(expected);
      }),
    );
  });

  it('ScopeSet finds the scope containing a key, as a brute-force search does', () => {
    fc.assert(
      fc.property(fc.array(pathArb, { maxLength: 6 }), pathArb, (scopes, p) => {
        const keys = outermostKeys(scopes.map(pathToKey));
        const set = new ScopeSet(keys);
        const k = pathToKey(p);
        const brute = keys.find((s) => keyWithin(k, s));
        expect(set.containing(k)?.toString('hex')).toBe(brute?.toString('hex'));
        // outermost: no kept key lies below another
        for (const x of keys) for (const y of keys) if (x !== y) expect(keyWithin(x, y)).toBe(false);
      }),
    );
  });

  it("joinKey(splitKey(k)) gives back every key, the root's empty key included", () => {
    // A policy can name "/" itself: its record must come back from the store under the same key,
    // or the baseline's root would not verify.
    const root = pathToKey(Buffer.from('/'));
    const { parent, name } = splitKey(root);
    expect(joinKey(parent, name).equals(root)).toBe(true);
    fc.assert(
      fc.property(pathArb, (p) => {
        const k = pathToKey(p);
        const s = splitKey(k);
        expect(joinKey(s.parent, s.name).equals(k)).toBe(true);
      }),
    );
  });

  it('splits a key into its parent directory code and name', () => {
    fc.assert(
      fc.property(pathArb, (p) => {
        const { parent, name } = splitKey(pathToKey(p));
        const i = p.lastIndexOf(0x2f);
        expect(name.equals(p.subarray(i + 1))).toBe(true);
        expect(parent.equals(dirCode(i === 0 ? Buffer.from('/') : p.subarray(0, i)))).toBe(true);
        expect(keyAsDir(pathToKey(p)).equals(dirCode(p))).toBe(true);
      }),
    );
  });

  it('SortedKeys.within finds exactly the keys in a subtree, or one level of it', () => {
    // The daemon resolves open findings in the places a rescan covered through this index: a key
    // it missed would stay open forever, an extra one would be closed without being looked at.
    const isPrefix = (a: Buffer, b: Buffer) =>
      a.length < b.length && b[a.length] === 0x2f && b.subarray(0, a.length).equals(a);
    fc.assert(
      fc.property(fc.array(pathArb, { maxLength: 40 }), pathArb, fc.boolean(), (paths, scopePath, root) => {
        const set = new SortedKeys();
        const all = new Map<string, Buffer>();
        for (const p of paths) {
          set.add(pathToKey(p).toString('latin1'));
          all.set(p.toString('latin1'), p);
        }
        // Half the time the scope is an ancestor of some path, so there is something to find.
        const scope = root
          ? Buffer.from('/')
          : (paths[0]?.subarray(0, paths[0].indexOf(0x2f, 1) > 0 ? paths[0].indexOf(0x2f, 1) : undefined) ??
            scopePath);
        const scopeKey = pathToKey(scope);
        const depth = (p: Buffer) => (p.length === 1 ? 0 : p.toString('latin1').split('/').length - 1);
        const below = (p: Buffer) => p.equals(scope) || scope.length === 1 || isPrefix(scope, p);
        const expectDeep = [...all.values()].filter(below).map((p) => pathToKey(p).toString('latin1'));
        const expectOne = [...all.values()]
          .filter((p) => below(p) && depth(p) - depth(scope) <= 1)
          .map((p) => pathToKey(p).toString('latin1'));
        expect([...set.within(scopeKey)].sort()).toEqual(expectDeep.sort());
        expect([...set.within(scopeKey, 1)].sort()).toEqual(expectOne.sort());
        expect(set.size).toBe(all.size);
        for (const p of paths) set.delete(pathToKey(p).toString('latin1'));
        expect(set.size).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('ScopeSet.holdsEntry: a scope itself or a direct entry of one, nested scopes included', () => {
    // A rescan of a directory at depth 1 covers it and its entries; with nested scopes (a and a/b)
    // an entry of a/b is covered even though a, the outer scope, holds it two levels down.
    fc.assert(
      fc.property(fc.array(pathArb, { minLength: 1, maxLength: 6 }), pathArb, (scopePaths, p) => {
        const set = new ScopeSet(scopePaths.map(pathToKey));
        const parent = p.subarray(0, Math.max(1, p.lastIndexOf(0x2f)));
        const expected = scopePaths.some((s) => s.equals(p) || s.equals(parent));
        expect(set.holdsEntry(pathToKey(p))).toBe(expected);
        // and every scope path's own direct child is held
        const child = Buffer.concat([scopePaths[0]!, Buffer.from('/zz')]);
        expect(set.holdsEntry(pathToKey(child))).toBe(true);
      }),
      { numRuns: 500 },
    );
    const nested = new ScopeSet([pathToKey(Buffer.from('/a')), pathToKey(Buffer.from('/a/b'))]);
    expect(nested.holdsEntry(pathToKey(Buffer.from('/a/b/c')))).toBe(true);
    expect(nested.holdsEntry(pathToKey(Buffer.from('/a/x/c')))).toBe(false);
    expect(new ScopeSet([Buffer.alloc(0)]).holdsEntry(pathToKey(Buffer.from('/top')))).toBe(true);
  });
});
