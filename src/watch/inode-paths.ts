/**
 * The covered files of one file system by inode, for the fanotify backend: a write through a hard
 * link made outside the tree names only the inode, and this says which covered paths to rescan.
 * Every covered file is in it (50,000 in the daemon's benchmark), for the daemon's whole life, so
 * it is packed: each directory's bytes once and every name, back to back in one growing buffer, the
 * entries in typed arrays, and one map from inode number to the first entry with that inode (hard
 * links inside the tree chain to the next). A map of paths as Buffers held 40 MB at 50,000 files (measured: each
 * small Buffer pinned an 8 KB slab of Node's buffer pool); this holds about 3 MB.
 *
 * What it must not do: forget a path it was given (an inode's old paths stay: a rescan of a path
 * that is gone finds it gone), or tell one inode from another by less than its whole number.
 */
import { joinPath, parentOf } from '../path-key.js';

/** An inode number as a map key: a number where it is exact, its decimal text beyond 2^53. */
export type InoKey = number | string;

export function inoKey(ino: bigint): InoKey {
  return ino <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ino) : ino.toString();
}

const FIRST_ENTRIES = 1024;
const FIRST_NAME_BYTES = 16 * 1024;

export class InodePaths {
  /** Directory d's bytes are bytes[dirAt[d] .. dirAt[d] + dirLength[d]). */
  private readonly dirAt: number[] = [];
  private readonly dirLength: number[] = [];
  private readonly dirIndex = new Map<string, number>();
  /** Directories and names, back to back: entry i's name is bytes[nameAt[i] .. + nameLength[i]). */
  private bytes = Buffer.allocUnsafeSlow(FIRST_NAME_BYTES);
  private used = 0;
  private dirOf = new Int32Array(FIRST_ENTRIES);
  private nameAt = new Uint32Array(FIRST_ENTRIES);
  private nameLength = new Uint32Array(FIRST_ENTRIES);
  /** The next entry with the same inode, or -1. */
  private next = new Int32Array(FIRST_ENTRIES);
  private count = 0;
  private readonly first = new Map<InoKey, number>();

  /** Inodes known. */
  get size(): number {
    return this.first.size;
  }

  /** Every inode known (to tell a new reader thread). */
  keys(): IterableIterator<InoKey> {
    return this.first.keys();
  }

  has(ino: InoKey): boolean {
    return this.first.has(ino);
  }

  /** Learn that `path` has inode `ino`. True when the inode is new (the reader must hear of it). */
  add(ino: InoKey, path: Buffer): boolean {
    const dir = parentOf(path) ?? path;
    const name = path.subarray(dir.length === 1 ? 1 : dir.length + 1);
    const head = this.first.get(ino);
    for (let i = head ?? -1; i >= 0; i = this.next[i]!) if (this.is(i, dir, name)) return false;
    const e = this.append(dir, name);
    this.next[e] = head ?? -1;
    this.first.set(ino, e);
    return head === undefined;
  }

  /** The covered paths with inode `ino` (new Buffers: the caller may keep them). */
  paths(ino: InoKey): Buffer[] {
    const out: Buffer[] = [];
    for (let i = this.first.get(ino) ?? -1; i >= 0; i = this.next[i]!) out.push(this.pathOf(i));
    return out;
  }

  clear(): void {
    this.first.clear();
    this.dirAt.length = 0;
    this.dirLength.length = 0;
    this.dirIndex.clear();
    this.count = 0;
    this.used = 0;
  }

  private nameOf(i: number): Buffer {
    const at = this.nameAt[i]!;
    return this.bytes.subarray(at, at + this.nameLength[i]!);
  }

  private dirBytes(d: number): Buffer {
    const at = this.dirAt[d]!;
    return this.bytes.subarray(at, at + this.dirLength[d]!);
  }

  private pathOf(i: number): Buffer {
    const dir = this.dirBytes(this.dirOf[i]!);
    const name = this.nameOf(i);
    return name.length === 0 ? Buffer.from(dir) : joinPath(dir, name);
  }

  private is(i: number, dir: Buffer, name: Buffer): boolean {
    return this.dirBytes(this.dirOf[i]!).equals(dir) && this.nameOf(i).equals(name);
  }

  /** Append bytes to the buffer (grown by doubling); returns where they start. */
  private put(b: Buffer): number {
    if (this.used + b.length > this.bytes.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(2 * this.bytes.length, this.used + b.length));
      this.bytes.copy(bigger, 0, 0, this.used);
      this.bytes = bigger;
    }
    const at = this.used;
    b.copy(this.bytes, at);
    this.used += b.length;
    return at;
  }

  private append(dir: Buffer, name: Buffer): number {
    const dk = dir.toString('latin1');
    let d = this.dirIndex.get(dk);
    if (d === undefined) {
      d = this.dirAt.length;
      this.dirAt.push(this.put(dir));
      this.dirLength.push(dir.length);
      this.dirIndex.set(dk, d);
    }
    if (this.count === this.next.length) this.grow();
    const e = this.count++;
    this.dirOf[e] = d;
    this.nameAt[e] = this.put(name);
    this.nameLength[e] = name.length;
    return e;
  }

  private grow(): void {
    const n = 2 * this.next.length;
    this.dirOf = widened(this.dirOf, n);
    this.nameAt = widened(this.nameAt, n);
    this.nameLength = widened(this.nameLength, n);
    this.next = widened(this.next, n);
  }
}

/** A copy of `a` with room for `n` entries. */
function widened<A extends Int32Array | Uint32Array>(a: A, n: number): A {
  const b = new (a.constructor as new (length: number) => A)(n);
  b.set(a);
  return b;
}
