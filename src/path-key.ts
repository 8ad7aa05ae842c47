/**
 * The sort key of a path, which fixes the order in which the scanner walks, the baseline is stored
 * and read, and the root is hashed: every directory's entries (by name), then each subdirectory's
 * contents, in name order. The key of /a/b/c is
 *
 *   00 01 "a"  00 01 "b"  00 00 "c"
 *
 * that is the parent's *directory code* (00 01 before each component) then 00 00 and the name. No
 * name holds a NUL byte, so the key is unambiguous and reversible, and byte order is walk order:
 * after a shared parent, 00 00 (an entry of that parent) sorts before 00 01 (something deeper), so
 * a directory's entries come before its subdirectories' contents, and a name's bytes decide
 * between siblings. The root "/" has the empty key.
 *
 * Why this shape: the store keeps each directory code once and each entry as (directory, name), so
 * a long common path costs a few bytes per file rather than its full length, and a full check still
 * reads the baseline in exactly the order the walk produces it (compare while scanning, flat memory).
 */

const SLASH = 0x2f;

/**
 * `src[start..end)` into `out` at `o`; returns the offset after it. A byte loop: Node's
 * Buffer#copy makes a typed-array view of the source for every call, which for a name of a few
 * dozen bytes costs more than the copy: pathToKey and keyToPath copy one component at a time, for
 * every entry scanned and every record read (a path of 9 components: 600-650 ns each with copy(),
 * 200-240 ns with this, measured).
 */
function put(out: Uint8Array, o: number, src: Uint8Array, start: number, end: number): number {
  if (end - start > 64) {
    out.set(src.subarray(start, end), o);
    return o + end - start;
  }
  for (let i = start; i < end; i++) out[o++] = src[i] as number;
  return o;
}

/** Split an absolute path into its components, as Buffers (views, not copies). */
export function components(path: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 1;
  for (let i = 1; i <= path.length; i++) {
    if (i === path.length || path[i] === SLASH) {
      if (i > start) out.push(path.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

/** The directory code of a directory path: 00 01 before each component ("/" has the empty code). */
export function dirCode(dirPath: Buffer): Buffer {
  const cs = components(dirPath);
  const out = Buffer.allocUnsafe(cs.reduce((n, c) => n + 2 + c.length, 0));
  let o = 0;
  for (const c of cs) {
    out[o++] = 0;
    out[o++] = 1;
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export function pathToKey(path: Buffer): Buffer {
  // One pass to size it, one to write it, one allocation: the scanner keys every entry it visits.
  let comps = 0;
  let bytes = 0;
  for (let i = 1, start = 1; i <= path.length; i++) {
    if (i === path.length || path[i] === SLASH) {
      if (i > start) {
        comps++;
        bytes += i - start;
      }
      start = i + 1;
    }
  }
  const out = Buffer.allocUnsafe(bytes + 2 * comps);
  let o = 0;
  let seen = 0;
  for (let i = 1, start = 1; i <= path.length; i++) {
    if (i === path.length || path[i] === SLASH) {
      if (i > start) {
        out[o++] = 0;
        out[o++] = ++seen === comps ? 0 : 1;
        o = put(out, o, path, start, i);
      }
      start = i + 1;
    }
  }
  return out;
}

/** Where the name starts in a key (after its 00 00), or -1 for the root's empty key. */
function nameStart(key: Uint8Array): number {
  // Every NUL starts a boundary (no name holds one): the one marked 00 00 comes before the name.
  for (let i = 0; i < key.length; i++) if (key[i] === 0 && key[i + 1] === 0) return i + 2;
  return -1;
}

/** The key split into the parent's directory code and the name. */
export function splitKey(key: Buffer): { parent: Buffer; name: Buffer } {
  const n = nameStart(key);
  if (n < 0) return { parent: Buffer.alloc(0), name: Buffer.alloc(0) };
  return { parent: key.subarray(0, n - 2), name: key.subarray(n) };
}

/** Inverse of splitKey. The root "/" (empty parent code, empty name) has the empty key. */
export function joinKey(parent: Buffer, name: Buffer): Buffer {
  if (parent.length === 0 && name.length === 0) return Buffer.alloc(0);
  const out = Buffer.allocUnsafe(parent.length + 2 + name.length);
  parent.copy(out, 0);
  out[parent.length] = 0;
  out[parent.length + 1] = 0;
  name.copy(out, parent.length + 2);
  return out;
}

/** The directory code of the path a key names (the prefix of the keys of its entries). */
export function keyAsDir(key: Buffer): Buffer {
  if (key.length === 0) return key;
  const out = Buffer.from(key);
  out[nameStart(key) - 1] = 1;
  return out;
}

export function keyToPath(key: Buffer): Buffer {
  if (key.length === 0) return Buffer.from('/');
  // key[i] is 0, key[i + 1] is 0 or 1: a component follows up to the next NUL. Sized first, then
  // written into one buffer (every baseline record read gets its path from here).
  let n = 0;
  for (let i = 0; i < key.length; ) {
    let j = i + 2;
    while (j < key.length && key[j] !== 0) j++;
    n += 1 + Math.max(0, Math.min(j, key.length) - (i + 2));
    i = j;
  }
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  for (let i = 0; i < key.length; ) {
    let j = i + 2;
    while (j < key.length && key[j] !== 0) j++;
    out[o++] = SLASH;
    if (j > i + 2) o = put(out, o, key, i + 2, j);
    i = j;
  }
  return out;
}

/** Number of components of the path a key names. */
export function keyDepth(key: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < key.length; i++) if (key[i] === 0) n++;
  return n;
}

/** True when `key` names `scope` itself or something below it. */
export function keyWithin(key: Buffer, scope: Buffer): boolean {
  if (scope.length === 0) return true;
  if (key.equals(scope)) return true;
  const d = keyAsDir(scope);
  return key.length > d.length && key[d.length] === 0 && key.compare(d, 0, d.length, 0, d.length) === 0;
}

/** How many levels `key` lies below `scope` (which must contain it). */
export function levelsBelow(key: Uint8Array, scope: Uint8Array): number {
  return keyDepth(key) - keyDepth(scope);
}

/**
 * A set of scope keys, none below another, asked "which one contains this key?". Each ancestor of a
 * key is one lookup, so a large dirty set stays cheap.
 */
export class ScopeSet {
  private readonly byDir = new Map<string, Buffer>();
  private readonly exact = new Set<string>();
  readonly keys: Buffer[];

  constructor(keys: readonly Buffer[] = []) {
    this.keys = [];
    for (const k of keys) this.add(k);
  }

  add(k: Buffer): void {
    this.keys.push(k);
    this.exact.add(k.toString('latin1'));
    this.byDir.set(keyAsDir(k).toString('latin1'), k);
  }

  get size(): number {
    return this.keys.length;
  }

  /** True when `key` is one of the scope keys or a direct entry of one (scopes one level deep). */
  holdsEntry(key: Buffer): boolean {
    if (this.exact.has(key.toString('latin1'))) return true;
    return key.length > 0 && this.byDir.has(splitKey(key).parent.toString('latin1'));
  }

  /** The scope key that `key` is at or below, if any. */
  containing(key: Buffer): Buffer | undefined {
    if (this.exact.has(key.toString('latin1'))) return key;
    // Every proper ancestor's directory code is a prefix of the key ending just before a NUL.
    for (let i = 0; i < key.length; i++) {
      if (key[i] !== 0) continue;
      const hit = this.byDir.get(key.toString('latin1', 0, i));
      if (hit) return hit;
      i++;
    }
    return undefined;
  }
}

/** Keys without those that lie below another one, sorted. */
export function outermostKeys(keys: readonly Buffer[]): Buffer[] {
  const set = new ScopeSet();
  for (const k of [...keys].sort((a, b) => keyDepth(a) - keyDepth(b))) {
    if (set.containing(k) === undefined) set.add(k);
  }
  return set.keys.sort(Buffer.compare);
}

/**
 * Keys (latin1 strings: one char per byte, so string order is byte order) kept sorted, asked for
 * everything below a scope. In key order a directory's descendants are contiguous: all keys that
 * start with its directory code and a NUL, its direct entries those that start with the code and
 * 00 00. So "what is open under the places an event rescanned" costs a binary search per place, not
 * a pass over every open finding (a storm has thousands of both).
 */
export class SortedKeys {
  private readonly keys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  private lowerBound(k: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(k: string): boolean {
    const i = this.lowerBound(k);
    return this.keys[i] === k;
  }

  add(k: string): void {
    const i = this.lowerBound(k);
    if (this.keys[i] !== k) this.keys.splice(i, 0, k);
  }

  delete(k: string): void {
    const i = this.lowerBound(k);
    if (this.keys[i] === k) this.keys.splice(i, 1);
  }

  clear(): void {
    this.keys.length = 0;
  }

  /**
   * Keys at `scope` (a key) or below it: all of its subtree, or with `depth` 1 only the scope itself
   * and its direct entries.
   */
  *within(scope: Buffer, depth?: 1): Generator<string> {
    const self = scope.toString('latin1');
    if (this.has(self)) yield self;
    const code = scope.length === 0 ? '' : keyAsDir(scope).toString('latin1');
    const prefix = depth === 1 ? `${code}\0\0` : `${code}\0`;
    for (let i = this.lowerBound(prefix); i < this.keys.length; i++) {
      const k = this.keys[i]!;
      if (!k.startsWith(prefix)) break;
      yield k;
    }
  }
}

/** The absolute path of these components ("/" for none). */
export function joinComponents(comps: readonly Buffer[]): Buffer {
  if (comps.length === 0) return Buffer.from('/');
  const parts: Buffer[] = [];
  for (const c of comps) parts.push(Buffer.from('/'), c);
  return Buffer.concat(parts);
}

/** `dir` + "/" + `name`, without doubling the root's slash. */
export function joinPath(dir: Buffer, name: Buffer): Buffer {
  const root = dir.length === 1 && dir[0] === SLASH;
  const out = Buffer.allocUnsafe(dir.length + (root ? 0 : 1) + name.length);
  dir.copy(out, 0);
  if (!root) out[dir.length] = SLASH;
  name.copy(out, root ? dir.length : dir.length + 1);
  return out;
}

/** The parent directory of an absolute path; null for `/`. */
export function parentOf(p: Buffer): Buffer | null {
  const i = p.lastIndexOf(0x2f);
  if (i <= 0) return p.length > 1 ? Buffer.from('/') : null;
  return p.subarray(0, i);
}

/**
 * An absolute, normalised path from a command-line path of any bytes: relative to `cwd`, with
 * empty and "." components dropped and ".." taking one away (as path.resolve does, but on bytes,
 * so a name that is not UTF-8 stays itself). Undefined for a path that holds a NUL.
 */
export function resolvePathBytes(p: Buffer, cwd: string = process.cwd()): Buffer | undefined {
  if (p.includes(0)) return undefined;
  const full = p[0] === SLASH ? p : Buffer.concat([Buffer.from(cwd), Buffer.from('/'), p]);
  const out: Buffer[] = [];
  for (const c of components(full)) {
    if (c.length === 1 && c[0] === 0x2e) continue;
    if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) out.pop();
    else out.push(c);
  }
  return joinComponents(out);
}
