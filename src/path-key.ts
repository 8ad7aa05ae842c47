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

/**
 * In sorted keys of which none lies below another, the one that `key` is at or below, if any. Only
 * the greatest key not above `key` can contain it: binary search, so large dirty sets stay cheap.
 */
export function containingKey(sorted: readonly Buffer[], key: Buffer): Buffer | undefined {
  let lo = 0;
  let hi = sorted.length - 1;
  let cand = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (Buffer.compare(sorted[mid]!, key) <= 0) {
      cand = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (cand < 0) return undefined;
  const s = sorted[cand]!;
  return keyWithin(key, s) ? s : undefined;
}

/** Sorted keys without those that lie below another one. */
export function outermostKeys(keys: readonly Buffer[]): Buffer[] {
  const sorted = [...keys].sort(Buffer.compare);
  const out: Buffer[] = [];
  for (const k of sorted) if (!out.length || !keyWithin(k, out[out.length - 1]!)) out.push(k);
  return out;
}
