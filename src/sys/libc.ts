/**
 * The system calls Node does not offer, through libc: the one importer of koffi (an FFI whose
 * native part ships inside its npm package; docs/dependencies.md has the measurements). Today:
 * - lseek(2) with SEEK_DATA and SEEK_HOLE, so a sparse file's holes are hashed as the zeros they
 *   read as, without reading them: the kernel fills the page cache with zero pages for every hole
 *   that is read (measured here: 25 s for a fresh 10 GiB sparse file, 1.9 s once cached);
 * - listxattr(2) and getxattr(2), through a descriptor (f*) or a path that is not followed (l*):
 *   names and values stay bytes;
 * - ioctl(2) FS_IOC_GETFLAGS, the inode flags `lsattr` shows;
 * - getdents64(2) of an open directory: its names without opening it again by a procfs path;
 * - openat(2), statx(2) and readlinkat(2) relative to a directory descriptor: one name resolved, where a path
 *   through /proc/self/fd/N/ costs a procfs walk at every call (about 10 µs an lstat here, 1 µs).
 * Paths and names are passed as NUL-terminated Buffers, never as JS strings (a name that is not
 * UTF-8 must reach the kernel as it is).
 *
 * Everything here is optional: where libc or koffi cannot be loaded, `available` is false and the
 * callers fall back to what Node can do.
 */
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getSystemErrorMap } from 'node:util';

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const ENXIO = 6;

type Lseek = (fd: number, offset: bigint | number, whence: number) => bigint | number;
type Ret = number | bigint;

interface Libc {
  lseek: Lseek;
  errno: () => number;
  flistxattr: (fd: number, list: Buffer | null, size: number) => Ret;
  llistxattr: (path: Buffer, list: Buffer | null, size: number) => Ret;
  fgetxattr: (fd: number, name: Buffer, value: Buffer | null, size: number) => Ret;
  lgetxattr: (path: Buffer, name: Buffer, value: Buffer | null, size: number) => Ret;
  ioctl: (fd: number, request: number, arg: Buffer) => Ret;
  openat: (dirfd: number, name: Buffer, flags: number) => Ret;
  readlinkat: (dirfd: number, name: Buffer, buf: Buffer, size: number) => Ret;
  close: (fd: number) => Ret;
  /** null: this libc has no getdents64 (glibc before 2.30). */
  getdents64: ((fd: number, buf: Buffer, size: number) => Ret) | null;
  /** null: this libc has no statx (glibc before 2.28). */
  statx: ((dirfd: number, name: Buffer, flags: number, mask: number, buf: Buffer) => Ret) | null;
  pipe2: (fds: Buffer, flags: number) => Ret;
  fcntl: (fd: number, cmd: number, arg: number) => Ret;
}

type KoffiLib = { func(signature: string): (...args: unknown[]) => unknown };
type KoffiModule = { load(name: string): KoffiLib; errno(): number; version?: unknown };
let koffiModule: KoffiModule | undefined;

/**
 * koffi, once per thread. Its package's loader finds the prebuilt binary for this platform
 * (reading node's own ELF header to tell glibc from musl) and wraps it in deprecation shims fim
 * does not use: 4-7 ms of a command's start here, against 2-4 ms for the glibc x64 binary required
 * directly (docs/performance.md). That binary is loaded directly where it is installed and is the
 * package's own version; anywhere else (musl, another layout, a version that does not match) the
 * package's loader decides, as it always did.
 */
function koffiFfi(): KoffiModule {
  if (koffiModule) return koffiModule;
  const require = createRequire(import.meta.url);
  if (process.platform === 'linux' && process.arch === 'x64') {
    try {
      const native = require('@koromix/koffi-linux-x64/linux_x64/koffi.node') as KoffiModule;
      const own = createRequire(require.resolve('koffi'))('./package.json') as { version?: unknown };
      if (native.version === own.version) koffiModule = native;
    } catch {
      // not glibc, or not installed beside the package: the loader below finds the right one
    }
  }
  koffiModule ??= require('koffi') as KoffiModule;
  return koffiModule;
}

function load(): Libc | null {
  try {
    const koffi = koffiFfi();
    const libc = koffi.load('libc.so.6');
    const f = <T>(sig: string) => libc.func(sig) as T;
    return {
      lseek: f<Lseek>('int64_t lseek(int fd, int64_t offset, int whence)'),
      errno: () => koffi.errno(),
      flistxattr: f('intptr_t flistxattr(int fd, void *list, size_t size)'),
      llistxattr: f('intptr_t llistxattr(const void *path, void *list, size_t size)'),
      fgetxattr: f('intptr_t fgetxattr(int fd, const void *name, void *value, size_t size)'),
      lgetxattr: f('intptr_t lgetxattr(const void *path, const void *name, void *value, size_t size)'),
      ioctl: f('int ioctl(int fd, unsigned long request, void *arg)'),
      openat: f('int openat(int dirfd, const void *name, int flags)'),
      readlinkat: f('intptr_t readlinkat(int dirfd, const void *name, void *buf, size_t size)'),
      close: f('int close(int fd)'),
      pipe2: f('int pipe2(void *fds, int flags)'),
      fcntl: f('int fcntl(int fd, int cmd, int arg)'),
      getdents64: optional(() => f('intptr_t getdents64(int fd, void *buf, size_t size)')),
      statx: optional(() =>
        f('int statx(int dirfd, const void *name, int flags, unsigned int mask, void *buf)'),
      ),
    };
  } catch {
    return null;
  }
}

function optional<T>(bind: () => T): T | null {
  try {
    return bind();
  } catch {
    return null;
  }
}

let libc: Libc | null | undefined;
function get(): Libc | null {
  if (libc === undefined) libc = load();
  return libc;
}

type Koffi = { lib: { func(signature: string): (...args: unknown[]) => unknown }; errno: () => number };
let raw: Koffi | null | undefined;

/**
 * One more libc function by its C signature, for a sibling module under src/sys/ (fanotify.ts):
 * koffi stays imported here only. null when libc or koffi cannot be loaded, or the symbol is
 * missing (an older libc).
 */
export function libcFunction<T>(signature: string): T | null {
  if (raw === undefined) {
    try {
      const k = koffiFfi();
      raw = { lib: k.load('libc.so.6'), errno: () => k.errno() };
    } catch {
      raw = null;
    }
  }
  if (!raw) return null;
  try {
    return raw.lib.func(signature) as T;
  } catch {
    return null;
  }
}

/** errno after the last call made through `libcFunction` (or any koffi call on this thread). */
export function lastErrno(): number {
  return raw?.errno() ?? 0;
}

export function libcAvailable(): boolean {
  return get() !== null;
}

/**
 * The next data at or after `offset` (SEEK_DATA), `null` when only a hole follows up to the end,
 * or `undefined` when the file system cannot say (then read everything).
 */
export function seekData(fd: number, offset: bigint): bigint | null | undefined {
  const c = get();
  if (!c) return undefined;
  const r = BigInt(c.lseek(fd, offset, SEEK_DATA));
  if (r >= 0n) return r;
  return c.errno() === ENXIO ? null : undefined;
}

/** The next hole at or after `offset` (the end of the file counts as one), or undefined. */
export function seekHole(fd: number, offset: bigint): bigint | undefined {
  const c = get();
  if (!c) return undefined;
  const r = BigInt(c.lseek(fd, offset, SEEK_HOLE));
  return r >= 0n ? r : undefined;
}

/** A call's result: the count it returned, or the errno it failed with. */
export type SysResult = { ok: true; n: number } | { ok: false; errno: number };

export const ERRNO = {
  ENOENT: 2,
  E2BIG: 7,
  EACCES: 13,
  ENOTDIR: 20,
  EINVAL: 22,
  ENOTTY: 25,
  ERANGE: 34,
  ENODATA: 61,
  EOPNOTSUPP: 95,
} as const;

const SYSTEM_ERRORS = getSystemErrorMap();

/** The name of an errno (ENOENT), as Node's own errors carry it in `code`. */
export function errnoName(errno: number): string {
  return SYSTEM_ERRORS.get(-errno)?.[0] ?? `E${errno}`;
}

/** An Error shaped like Node's own for a failed call: `code`, `errno`, and "CODE: text, call". */
export function errnoError(errno: number, call: string): Error & { code: string; errno: number } {
  const [code, text] = SYSTEM_ERRORS.get(-errno) ?? [`E${errno}`, 'unknown error'];
  return Object.assign(new Error(`${code}: ${text}, ${call}`), { code, errno: -errno });
}

function result(c: Libc, r: Ret): SysResult {
  const n = Number(r);
  return n >= 0 ? { ok: true, n } : { ok: false, errno: c.errno() };
}

/** Where an inode is reached: its descriptor, or a NUL-terminated path whose last name is not followed. */
export type XattrTarget = number | Buffer;

/**
 * listxattr into `buf` (null: only ask for the size). undefined when libc cannot be used.
 * A path target must end in NUL.
 */
export function listXattr(target: XattrTarget, buf: Buffer | null): SysResult | undefined {
  const c = get();
  if (!c) return undefined;
  const size = buf?.length ?? 0;
  return result(
    c,
    typeof target === 'number' ? c.flistxattr(target, buf, size) : c.llistxattr(target, buf, size),
  );
}

/** getxattr of `name` (NUL-terminated) into `buf` (null: only ask for the size). */
export function getXattr(target: XattrTarget, name: Buffer, buf: Buffer | null): SysResult | undefined {
  const c = get();
  if (!c) return undefined;
  const size = buf?.length ?? 0;
  return result(
    c,
    typeof target === 'number' ? c.fgetxattr(target, name, buf, size) : c.lgetxattr(target, name, buf, size),
  );
}

/** FS_IOC_GETFLAGS = _IOR('f', 1, long) on 64-bit Linux; the kernel writes an int. */
const FS_IOC_GETFLAGS = 0x80086601;
const flagsBuf = Buffer.alloc(8);

/** The inode flags of an open file or directory. */
export function inodeFlags(
  fd: number,
): { ok: true; flags: number } | { ok: false; errno: number } | undefined {
  const c = get();
  if (!c) return undefined;
  flagsBuf.fill(0);
  const r = Number(c.ioctl(fd, FS_IOC_GETFLAGS, flagsBuf));
  return r < 0 ? { ok: false, errno: c.errno() } : { ok: true, flags: flagsBuf.readUInt32LE(0) };
}

/**
 * openat(2): a name opened relative to a directory descriptor, one component resolved, instead of
 * a path through /proc/self/fd/N/ (which the kernel resolves through procfs at every call: about
 * 20 µs an open here, against a few). `name` must end in NUL. undefined when libc cannot be used.
 */
export function openAt(dirfd: number, name: Buffer, flags: number): SysResult | undefined {
  const c = get();
  if (!c) return undefined;
  const r = result(c, c.openat(dirfd, name, flags));
  if (r.ok) opened.add(r.n);
  return r;
}

/** A symlink's target is at most PATH_MAX - 1 bytes on Linux; one byte more tells a longer one. */
const LINK_MAX = 4096;
let linkBuf: Buffer | undefined;

/**
 * readlinkat(2): the target of the symlink `name` (NUL-terminated) in directory `dirfd`, as bytes
 * (readlink never follows it), instead of readlink of /proc/self/fd/N/name, a procfs walk each
 * time. undefined when libc cannot be used; otherwise the target or the errno.
 */
export function readlinkAt(
  dirfd: number,
  name: Buffer,
): { ok: true; target: Buffer } | { ok: false; errno: number } | undefined {
  const c = get();
  if (!c) return undefined;
  linkBuf ??= Buffer.alloc(LINK_MAX + 1);
  const n = Number(c.readlinkat(dirfd, name, linkBuf, linkBuf.length));
  if (n < 0) return { ok: false, errno: c.errno() };
  // Filled to the end: longer than any target Linux stores; let the caller's fallback say.
  if (n >= linkBuf.length) return undefined;
  return { ok: true, target: Buffer.from(linkBuf.subarray(0, n)) };
}

/**
 * Descriptors this thread opened through libc. Node tracks the descriptors a worker thread opens
 * through `fs` (and closes them when the worker ends); one opened here and closed by `fs.closeSync`
 * makes it warn "closed but not opened in unmanaged mode", once per descriptor: tens of thousands
 * of lines per full check in the daemon's scan worker. So each is closed by the side that opened it.
 */
const opened = new Set<number>();

/**
 * A descriptor from `openAt` handed to another thread (a split scan's subtree): this thread no
 * longer closes it; the receiver `adoptFd`s it and closes it through libc, so Node, which never saw
 * it opened, does not warn.
 */
export function handOverFd(fd: number): void {
  opened.delete(fd);
}

export function adoptFd(fd: number): void {
  if (get()) opened.add(fd);
}

/** Close a descriptor from `openAt` through libc, and any other through Node. */
export function closeFd(fd: number): void {
  const c = get();
  if (c && opened.delete(fd)) {
    c.close(fd);
    return;
  }
  closeSync(fd);
}

/** statx(2)'s struct statx: 256 bytes, the same layout on every architecture. */
export const STATX_SIZE = 256;
const AT_SYMLINK_NOFOLLOW = 0x100;
/** STATX_BASIC_STATS: type, mode, nlink, uid, gid, times, ino, size, blocks. */
const STATX_BASIC_STATS = 0x7ff;

/**
 * statx(2) of `name` (NUL-terminated) in directory `dirfd`, never following a final symlink, into
 * `buf` (STATX_SIZE bytes). undefined when libc cannot be used (or has no statx: glibc < 2.28).
 */
export function statxAt(dirfd: number, name: Buffer, buf: Buffer): SysResult | undefined {
  const c = get();
  if (!c?.statx) return undefined;
  return result(c, c.statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buf));
}

const AT_EMPTY_PATH = 0x1000;
const EMPTY_NAME = Buffer.from([0]);

/** statx(2) of the open descriptor `fd` itself (AT_EMPTY_PATH): fstat(2), in statx's layout. */
export function statxFd(fd: number, buf: Buffer): SysResult | undefined {
  const c = get();
  if (!c?.statx) return undefined;
  return result(c, c.statx(fd, EMPTY_NAME, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buf));
}

/**
 * getdents64(2): the next linux_dirent64 records of the open directory `fd` into `buf`; n = 0 at
 * the end. undefined when libc cannot be used (or has no getdents64).
 */
export function getDents(fd: number, buf: Buffer): SysResult | undefined {
  const c = get();
  if (!c?.getdents64) return undefined;
  return result(c, c.getdents64(fd, buf, buf.length));
}

const F_SETPIPE_SZ = 1031;

/**
 * pipe2(2) with O_CLOEXEC: a pipe whose write end a child process gets as one of its descriptors
 * (Node's spawn has no other way to a pipe this process can read synchronously), asked to hold
 * `size` bytes (F_SETPIPE_SZ; the kernel's default is 64 KiB, and its limit for anyone 1 MiB).
 * undefined when libc cannot be used or the call fails.
 */
export function pipe(size = 0): { read: number; write: number } | undefined {
  const c = get();
  if (!c) return undefined;
  const fds = Buffer.alloc(8);
  if (Number(c.pipe2(fds, 0o2000000)) !== 0) return undefined;
  const read = fds.readInt32LE(0);
  // A smaller pipe only costs more context switches: a refusal is not an error.
  if (size > 0) c.fcntl(read, F_SETPIPE_SZ, size);
  return { read, write: fds.readInt32LE(4) };
}
