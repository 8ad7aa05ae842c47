/**
 * The sort key of a path: its bytes with every "/" replaced by NUL. A depth-first walk that visits
 * each directory's entries in byte order yields paths in exactly this key order ("/a/b/c" before
 * "/a/b.c", because NUL sorts below every name byte), so the baseline, stored under this key, can be
 * read in the same order as the walk and compared while scanning, in flat memory. NUL never occurs
 * in a Linux file name, so the mapping is reversible.
 */

export function pathToKey(path: Buffer): Buffer {
  const k = Buffer.from(path);
  for (let i = 0; i < k.length; i++) if (k[i] === 0x2f) k[i] = 0;
  return k;
}

export function keyToPath(key: Buffer): Buffer {
  const p = Buffer.from(key);
  for (let i = 0; i < p.length; i++) if (p[i] === 0) p[i] = 0x2f;
  return p;
}

/** True when `key` is `scope` itself or lies below it. */
export function keyWithin(key: Buffer, scope: Buffer): boolean {
  if (key.length < scope.length) return false;
  if (key.compare(scope, 0, scope.length, 0, scope.length) !== 0) return false;
  // The root ("/" → NUL) contains everything.
  return key.length === scope.length || key[scope.length] === 0 || (scope.length === 1 && scope[0] === 0);
}
