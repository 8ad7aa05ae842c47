/**
 * What the scanner needs of an entry's lstat, as one small object: its type, the 12 mode bits,
 * owner, link count, and the 64-bit numbers (size, times in nanoseconds, inode, device) as
 * bigints. Where libc can be used it comes from statx(2) relative to the walk's directory
 * descriptor, one name resolved and never a final symlink followed (AT_SYMLINK_NOFOLLOW): the
 * lstat it replaces went through /proc/self/fd/N/name, a procfs walk at every entry (measured here:
 * about 10 µs against 1 µs, the largest single cost of a `--fast` check). Elsewhere it is Node's
 * `lstat`, converted: both give the same numbers (test/unit/scan/entry-stat.test.ts compares them
 * on every type of entry).
 *
 * It must not follow a symlink or guess a field: a statx that did not fill a basic field is refused
 * and the caller falls back to lstat.
 */
import { type BigIntStats, lstatSync } from 'node:fs';
import { errnoError, STATX_SIZE, statxAt } from '../sys/libc.js';
import type { FileType } from '../types.js';

export interface EntryStat {
  type: FileType;
  /** The 12 permission bits (setuid, setgid, sticky included). */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  dev: bigint;
}

/** Where an entry is, for the *at(2) calls: its directory's descriptor and its name (and with NUL). */
export interface EntryAt {
  dir: number;
  name: Buffer;
  /** `name` followed by a NUL, as the kernel takes it. */
  nameZ: Buffer;
}

/**
 * The entry's name through its directory's descriptor (/proc/self/fd/N/name), for the calls that
 * have no *at form here (readlink, the path forms of xattr calls) or when libc cannot be loaded.
 */
export function procPath(at: EntryAt): Buffer {
  const prefix = Buffer.from(`/proc/self/fd/${at.dir}/`);
  return Buffer.concat([prefix, at.name], prefix.length + at.name.length);
}

/** An entry's place: `name` in the directory open as `dir`. */
export function entryAt(dir: number, name: Buffer): EntryAt {
  const nameZ = Buffer.allocUnsafe(name.length + 1);
  name.copy(nameZ);
  nameZ[name.length] = 0;
  return { dir, name, nameZ };
}

const S_IFMT = 0o170000;
const TYPES = new Map<number, FileType>([
  [0o100000, 'file'],
  [0o040000, 'dir'],
  [0o120000, 'symlink'],
  [0o010000, 'fifo'],
  [0o140000, 'socket'],
  [0o020000, 'char'],
  [0o060000, 'block'],
]);

export function typeOfMode(mode: number): FileType {
  return TYPES.get(mode & S_IFMT) ?? 'unknown';
}

export function fromBigIntStats(st: BigIntStats): EntryStat {
  const mode = Number(st.mode);
  return {
    type: typeOfMode(mode),
    mode: mode & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    nlink: Number(st.nlink),
    size: st.size,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    ino: st.ino,
    dev: st.dev,
  };
}

/** Every field of STATX_BASIC_STATS that EntryStat reads (mask bits: type, mode, nlink, uid, gid, mtime, ctime, ino, size). */
const NEEDED = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200;
const NS = 1_000_000_000n;
const statxBuf = Buffer.alloc(STATX_SIZE);

/**
 * glibc's makedev(major, minor), which is what stat(2) reports as st_dev: 12 bits of major and
 * 20 of minor in the low 32 bits, the rest above.
 */
export function makeDev(major: number, minor: number): bigint {
  if (major <= 0xfff && minor <= 0xfffff)
    return BigInt((minor & 0xff) + major * 0x100 + (minor - (minor & 0xff)) * 0x1000);
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & 0xfffff000n) << 32n) | (mi & 0xffn) | ((mi & 0xffffff00n) << 12n);
}

/** A struct statx as an EntryStat; undefined when the kernel did not fill a field it needs. */
export function decodeStatx(b: Buffer): EntryStat | undefined {
  if ((b.readUInt32LE(0) & NEEDED) !== NEEDED) return undefined;
  const mode = b.readUInt16LE(28);
  return {
    type: typeOfMode(mode),
    mode: mode & 0o7777,
    uid: b.readUInt32LE(20),
    gid: b.readUInt32LE(24),
    nlink: b.readUInt32LE(16),
    size: b.readBigUInt64LE(40),
    mtimeNs: b.readBigInt64LE(112) * NS + BigInt(b.readUInt32LE(120)),
    ctimeNs: b.readBigInt64LE(96) * NS + BigInt(b.readUInt32LE(104)),
    ino: b.readBigUInt64LE(32),
    dev: makeDev(b.readUInt32LE(136), b.readUInt32LE(140)),
  };
}

/**
 * The entry's stat: statx through `at` where it can, else lstat (never followed) of `access`, or
 * of the entry's name through /proc/self/fd/N when `at` is given. Throws what lstat throws; a failed statx throws the same kind of error (`code` ENOENT...).
 */
export function statEntry(access: string | Buffer, at: EntryAt | undefined): EntryStat {
  if (at) {
    const r = statxAt(at.dir, at.nameZ, statxBuf);
    if (r && !r.ok) throw errnoError(r.errno, 'statx');
    const st = r ? decodeStatx(statxBuf) : undefined;
    if (st) return st;
  }
  return fromBigIntStats(lstatSync(at ? procPath(at) : access, { bigint: true }));
}
