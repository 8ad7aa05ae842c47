/**
 * BLAKE3-256 of a regular file, read through the descriptor that was checked. Owns the open/fstat
 * discipline that keeps an intruder from swapping a file under us:
 *   open O_RDONLY|O_NOFOLLOW|O_NONBLOCK(|O_NOATIME) → fstat → same device and inode as the lstat?
 *   → hash from the descriptor → fstat again → unchanged? Otherwise read again (bounded), then give
 *   up and report the file as unstable.
 * FIFOs, sockets and devices never reach this module (the scanner does not open them).
 */

import { createHash, type Hash } from 'node:crypto';
import { constants, openSync, readSync } from 'node:fs';
import { errnoCode, systemErrorText } from '../errors.js';
import { closeFd, errnoError, openAt, seekData, seekHole } from '../sys/libc.js';
import { type FdStat, fstatOf } from '../sys/stat.js';
import { Blake3 } from './blake3.js';

/** Zeros to hash a hole with. */
const ZEROS = Buffer.alloc(1 << 20);

const BASE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const NOATIME = constants.O_NOATIME ?? 0;
const MAX_ATTEMPTS = 3;
/** No SHA-256 or MD5 asked for: most files (no array per file). */
const NO_EXTRA: readonly (Hash | null)[] = [];
/** Linux's O_CLOEXEC: Node sets it on its own opens; openat through libc must ask for it. */
const O_CLOEXEC = 0o2000000;

/**
 * What to open: a path, or a name in a directory open as `dir` (openat(2): one name resolved, no
 * procfs walk; `nameZ` ends in NUL). The scanner gives the second where libc serves.
 */
export type OpenTarget = string | Buffer | { dir: number; nameZ: Buffer };

export type HashOutcome =
  | {
      ok: true;
      stat: FdStat;
      content: Buffer;
      /** SHA-256 of the same bytes, when asked. */
      sha256: Buffer | null;
      /** MD5 of the same bytes, when asked (only to compare with dpkg's md5sums: MD5 is broken). */
      md5: Buffer | null;
      prefix: { length: bigint; hash: Buffer } | null;
    }
  | { ok: false; code: string; message: string; vanished?: boolean };

type Also = { sha256?: boolean; md5?: boolean; withFd?: ((fd: number) => void) | undefined };

/**
 * One hasher and one read buffer, reused for every file: a new native hasher per file grows memory
 * to gigabytes before the GC notices (measured, design.md).
 */
export class FileHasher {
  private readonly hasher = new Blake3();
  private readonly buf: Buffer;
  private noatime = NOATIME !== 0;

  /**
   * `slackBytes`: how far past the size `fstat` gave a read may go before the file counts as still
   * growing (default: 1 MiB or an eighth of the size, whichever is more). It bounds each attempt:
   * a writer faster than the reader cannot keep the scan reading for ever.
   */
  constructor(
    bufferSize = 1 << 20,
    private readonly slackBytes?: bigint,
    /** Called after every chunk read and hashed: the tests act there, between a read and the fstat after it. */
    private readonly onChunk?: () => void,
  ) {
    this.buf = Buffer.allocUnsafe(bufferSize);
  }

  /**
   * Hash the file at `path`, which `lstat` showed to be a regular file with `expected` dev/ino.
   * `prefixLength`: also return the hash of the first that many bytes (growing files).
   * `also.sha256`: a SHA-256 of the same bytes in the same read; `also.withFd`: called with the
   * checked descriptor once the content is read and stable, to read more through it.
   */
  hash(
    path: OpenTarget,
    expected: { ino: bigint; dev: bigint },
    prefixLength?: bigint,
    also: Also = {},
  ): HashOutcome {
    let lastProblem = 'changed while being read';
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let fd: number;
      try {
        fd = this.open(path);
      } catch (err) {
        const code = errnoCode(err) ?? 'EIO';
        if (code === 'ENOENT')
          return { ok: false, code, message: 'vanished during the scan', vanished: true };
        // ELOOP: the name became a symlink after lstat; O_NOFOLLOW refused it.
        if (code === 'ELOOP')
          return { ok: false, code: 'ERACE', message: 'replaced by a symlink during the scan' };
        return { ok: false, code, message: `cannot open: ${systemErrorText(err)}` };
      }
      try {
        const before = fstatOf(fd);
        if (before.ino !== expected.ino || before.dev !== expected.dev || before.type !== 'file') {
          return { ok: false, code: 'ERACE', message: 'replaced by another file between lstat and open' };
        }
        const slack = this.slackFor(before.size);
        // Fewer 512-byte blocks than the size needs: the file has holes.
        const sparse = before.blocks * 512n < before.size;
        const extra =
          also.sha256 || also.md5
            ? [also.sha256 ? createHash('sha256') : null, also.md5 ? createHash('md5') : null]
            : NO_EXTRA;
        const r = this.read(fd, prefixLength, before.size + slack, sparse, extra, before.size);
        if (r.overflow) {
          lastProblem = `still growing while being read (past ${before.size} bytes by more than ${slack}; ${attempt + 1} attempts)`;
          continue;
        }
        const after = fstatOf(fd);
        if (
          after.size === before.size &&
          after.mtimeNs === before.mtimeNs &&
          after.ctimeNs === before.ctimeNs &&
          r.total === after.size
        ) {
          also.withFd?.(fd);
          const sha256 = extra[0]?.digest() ?? null;
          const md5 = extra[1]?.digest() ?? null;
          return {
            ok: true,
            stat: after,
            content: r.content,
            sha256,
            md5,
            prefix: r.prefix,
          };
        }
        lastProblem = `changed while being read (${attempt + 1} attempts)`;
      } catch (err) {
        return {
          ok: false,
          code: errnoCode(err) ?? 'EIO',
          message: `read failed: ${systemErrorText(err)}`,
        };
      } finally {
        closeFd(fd);
      }
    }
    return { ok: false, code: 'EUNSTABLE', message: lastProblem };
  }

  private slackFor(size: bigint): bigint {
    return this.slackBytes ?? (size / 8n > 1n << 20n ? size / 8n : 1n << 20n);
  }

  private open(path: OpenTarget): number {
    if (typeof path === 'object' && !Buffer.isBuffer(path)) return this.openAt(path.dir, path.nameZ);
    if (this.noatime) {
      try {
        return openSync(path, BASE_FLAGS | NOATIME);
      } catch (err) {
        // O_NOATIME needs ownership or CAP_FOWNER; without them fall back for good.
        if (errnoCode(err) !== 'EPERM') throw err;
        this.noatime = false;
      }
    }
    return openSync(path, BASE_FLAGS);
  }
  /** open(), relative to a directory descriptor; throws errors shaped like Node's. */
  private openAt(dir: number, nameZ: Buffer): number {
    if (this.noatime) {
      const r = openAt(dir, nameZ, BASE_FLAGS | NOATIME | O_CLOEXEC);
      if (r?.ok) return r.n;
      // O_NOATIME needs ownership or CAP_FOWNER; without them fall back for good.
      if (r && r.errno !== 1) throw errnoError(r.errno, 'openat');
      if (r) this.noatime = false;
    }
    const r = openAt(dir, nameZ, BASE_FLAGS | O_CLOEXEC);
    if (!r) throw new Error('openat: libc cannot be used');
    if (!r.ok) throw errnoError(r.errno, 'openat');
    return r.n;
  }

  private read(
    fd: number,
    prefixLength: bigint | undefined,
    limit: bigint,
    sparse: boolean,
    extra: readonly (Hash | null)[],
    /** The size fstat gave before the read, if known: a short read that reaches it is the end. */
    size?: bigint,
  ): { total: bigint; content: Buffer; prefix: { length: bigint; hash: Buffer } | null; overflow?: true } {
    const h = this.hasher;
    h.reset();
    let total = 0n;
    let prefix: { length: bigint; hash: Buffer } | null = null;
    const want = prefixLength;
    if (want === 0n) prefix = { length: 0n, hash: h.digest() };
    /** Hash `chunk` as the next bytes of the file; false once past the limit. */
    const feed = (chunk: Buffer): boolean => {
      const n = BigInt(chunk.length);
      if (want !== undefined && prefix === null && total + n >= want) {
        const cut = Number(want - total);
        h.update(chunk.subarray(0, cut));
        prefix = { length: want, hash: h.digest() };
        h.update(chunk.subarray(cut));
      } else {
        h.update(chunk);
      }
      for (const x of extra) x?.update(chunk);
      this.onChunk?.();
      total += n;
      return total <= limit;
    };
    const over = () => ({ total, content: Buffer.alloc(0), prefix, overflow: true as const });
    // A sparse file: hash its holes as the zeros they read as, without reading them (src/sys/libc.ts).
    let pos = 0n;
    if (sparse) {
      for (;;) {
        const data = seekData(fd, pos);
        if (data === undefined) break; // the file system cannot say: read the rest
        // No data after pos: a hole to the end of the file.
        const end = data ?? fstatOf(fd).size;
        while (pos < end) {
          const len = end - pos > BigInt(ZEROS.length) ? ZEROS.length : Number(end - pos);
          if (!feed(ZEROS.subarray(0, len))) return over();
          pos += BigInt(len);
        }
        if (data === null) break;
        const dataEnd = seekHole(fd, pos);
        if (dataEnd === undefined) break;
        while (pos < dataEnd) {
          const want2 = dataEnd - pos > BigInt(this.buf.length) ? this.buf.length : Number(dataEnd - pos);
          const n = readSync(fd, this.buf, 0, want2, pos);
          if (n === 0) break;
          if (!feed(this.buf.subarray(0, n))) return over();
          pos += BigInt(n);
        }
        if (pos < dataEnd) break; // shorter than it said: let the stat check judge
      }
    }
    // The rest (all of a dense file), and whatever a writer appended meanwhile. A short read that
    // ends at the size fstat gave is the end of the file: the read of 0 bytes after it is skipped
    // (one system call per small file); bytes appended later change the size the caller's fstat
    // after the read compares, so the file is read again.
    for (;;) {
      const n = readSync(fd, this.buf, 0, this.buf.length, pos);
      if (n === 0) break;
      if (!feed(this.buf.subarray(0, n))) return over();
      pos += BigInt(n);
      if (n < this.buf.length && total === size) break;
    }
    return { total, content: h.digest(), prefix };
  }
}
