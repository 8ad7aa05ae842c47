/**
 * The system calls Node does not offer, through libc: the one importer of koffi (an FFI whose
 * native part ships inside its npm package). Today: lseek(2) with SEEK_DATA and SEEK_HOLE, so a
 * sparse file's holes are hashed as the zeros they read as, without reading them: the kernel fills
 * the page cache with zero pages for every hole that is read (measured here: 25 s for a fresh
 * 10 GiB sparse file, 1.9 s once cached; b3sum maps holes to the zero page and takes seconds).
 *
 * Everything here is optional: where libc or koffi cannot be loaded, `available` is false and the
 * callers fall back to what Node can do.
 */
import { createRequire } from 'node:module';

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const ENXIO = 6;

type Lseek = (fd: number, offset: bigint | number, whence: number) => bigint | number;

interface Libc {
  lseek: Lseek;
  errno: () => number;
}

function load(): Libc | null {
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as {
      load(name: string): { func(signature: string): (...args: unknown[]) => unknown };
      errno(): number;
    };
    const libc = koffi.load('libc.so.6');
    const lseek = libc.func('int64_t lseek(int fd, int64_t offset, int whence)') as Lseek;
    return { lseek, errno: () => koffi.errno() };
  } catch {
    return null;
  }
}

let libc: Libc | null | undefined;
function get(): Libc | null {
  if (libc === undefined) libc = load();
  return libc;
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
