/**
 * Building one entry's record: what its `lstat` says (type, all 12 mode bits, owner, size, times in
 * nanoseconds, inode, device, link count), then what a rule asks to be read beyond it: a symlink's
 * target (`readlink`, never followed), a regular file's content hash (BLAKE3, and SHA-256 where the
 * rule keeps it, through the descriptor, src/hash/hash-file.ts), or, with `--fast`, the baseline's
 * hashes when nothing about the file moved; and capabilities, ACLs, the SELinux label, other xattrs
 * and inode flags (src/scan/extended.ts), through the hashing descriptor where there is one.
 *
 * It must not: follow a symlink, open anything but a regular file or a directory (and those only
 * with O_NOFOLLOW, checked against the lstat), or throw for an entry that is unreadable or vanishes
 * (it says so in its result). The walk itself is the scanner's.
 */
import { constants, openSync, readlinkSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { FileHasher, type HashOutcome } from '../hash/hash-file.js';
import type { Rule } from '../policy/policy.js';
import { closeFd, errnoError, libcAvailable, openAt, readlinkAt } from '../sys/libc.js';
import { fstatOf } from '../sys/stat.js';
import type { FileRecord } from '../types.js';
import { type EntryAt, type EntryStat, procPath } from './entry-stat.js';
import {
  cPath,
  type ExtendedOutcome,
  ExtendedReader,
  type ExtendedWant,
  extendedWanted,
} from './extended.js';

export type { EntryAt } from './entry-stat.js';

export function recordFromStat(path: Buffer, st: EntryStat): FileRecord {
  return {
    path,
    type: st.type,
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtime: st.mtimeNs,
    ctime: st.ctimeNs,
    inode: st.ino,
    dev: st.dev,
    nlink: st.nlink,
    target: null,
    content: null,
    sha256: null,
    caps: null,
    acl: null,
    selinux: null,
    xattrs: null,
    flags: null,
  };
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const NOATIME = constants.O_NOATIME ?? 0;
/** Linux's O_CLOEXEC: Node sets it on its own opens; openat through libc must ask for it. */
const O_CLOEXEC = 0o2000000;
const EPERM = 1;
let noatime = NOATIME !== 0;

/** fstat of what was opened is the inode lstat saw. */
function sameInode(fd: number, st: EntryStat): boolean {
  const now = fstatOf(fd);
  return now.ino === st.ino && now.dev === st.dev;
}

/**
 * Open a regular file or a directory only to read its flags and xattrs through it: never follows
 * (O_NOFOLLOW), never blocks (O_NONBLOCK), leaves atime alone where allowed, and is checked against
 * the lstat. Through openat(2) on the directory's descriptor where the walk has one (one name
 * resolved; through /proc/self/fd/N/name an open cost about 20 µs here). null when it cannot be
 * opened (then the xattrs are read by path and the flags are not recorded).
 */
function openForAttributes(access: () => string | Buffer, st: EntryStat, at?: EntryAt): number | null {
  const flags = OPEN_FLAGS | (st.type === 'dir' ? constants.O_DIRECTORY : 0);
  let fd: number | undefined;
  if (at) {
    const name = at.nameZ;
    let r = openAt(at.dir, name, flags | O_CLOEXEC | (noatime ? NOATIME : 0));
    if (r && !r.ok && r.errno === EPERM && noatime) {
      noatime = false; // O_NOATIME needs ownership or CAP_FOWNER
      r = openAt(at.dir, name, flags | O_CLOEXEC);
    }
    if (r && !r.ok) return null;
    if (r?.ok) fd = r.n;
  }
  if (fd === undefined) {
    try {
      try {
        fd = openSync(access(), flags | (noatime ? NOATIME : 0));
      } catch (err) {
        if (!noatime || errnoCode(err) !== 'EPERM') throw err;
        noatime = false;
        fd = openSync(access(), flags);
      }
    } catch {
      return null;
    }
  }
  if (!sameInode(fd, st)) {
    closeFd(fd);
    return null;
  }
  return fd;
}

/** What reading an entry gave: its record, an error (with what lstat told), or nothing (it vanished). */
export type Done =
  | { kind: 'record'; record: FileRecord; hashedBytes: bigint }
  | { kind: 'error'; code: string; message: string; record: FileRecord }
  | { kind: 'vanished' };

export interface RecordReaderOptions {
  /** Record attributes only, never hash. */
  noHash: boolean;
  /** Reuse the baseline hash when size, mtime, ctime, inode and device are all unchanged. */
  fast: boolean;
  /** The baseline record for a key (growing rules and --fast). */
  lookup?: (key: Buffer) => FileRecord | undefined;
}

/**
 * One hasher (a native BLAKE3 state and a 1 MiB read buffer) for every scan in this thread: the
 * daemon runs thousands of small rescans, and a fresh one each would churn memory.
 */
let sharedHasher: FileHasher | undefined;
function sharedFileHasher(): FileHasher {
  sharedHasher ??= new FileHasher();
  return sharedHasher;
}
let sharedExtended: ExtendedReader | undefined;
function sharedExtendedReader(): ExtendedReader {
  sharedExtended ??= new ExtendedReader();
  return sharedExtended;
}

export class RecordReader {
  private readonly hasher = sharedFileHasher();
  private readonly extended = sharedExtendedReader();

  constructor(private readonly opts: RecordReaderOptions) {}

  /**
   * `path` is the entry's real path; `at` its directory's descriptor and name, through which it is
   * opened and stat'ed; `access` a path to use where no *at call serves (null: `/proc/self/fd/N/name`
   * from `at`, built only when needed).
   */
  read(
    key: Buffer,
    path: Buffer,
    given: string | Buffer | null,
    st: EntryStat,
    rule: Rule,
    at?: EntryAt,
  ): Done {
    let known = given;
    const access = () => (known ??= at ? procPath(at) : path);
    const rec = recordFromStat(path, st);
    const want = extendedWanted(rule);
    const wantsExtended = want.xattrs || want.flags;
    if (rec.type === 'symlink') {
      // readlinkat on the walk's descriptor where libc serves (one name, no procfs walk).
      const r = at ? readlinkAt(at.dir, at.nameZ) : undefined;
      if (r?.ok) rec.target = r.target;
      else {
        try {
          if (r) throw errnoError(r.errno, 'readlinkat');
          rec.target = readlinkSync(access(), { encoding: 'buffer' });
        } catch (err) {
          const code = errnoCode(err) ?? 'EIO';
          if (code === 'ENOENT') return { kind: 'vanished' };
          return { kind: 'error', code, message: `cannot read link: ${code}`, record: rec };
        }
      }
    }
    const hashes =
      rec.type === 'file' &&
      !this.opts.noHash &&
      (rule.check.attributes.has('content') || rule.check.growing);
    const old = this.opts.lookup?.(key);
    if (!hashes) {
      if (!wantsExtended || this.reuseExtended(rec, old, st, want))
        return { kind: 'record', record: rec, hashedBytes: 0n };
      return this.withExtended(rec, access, st, want, at);
    }
    const sha256 = rule.hashes.includes('sha256') && rule.check.attributes.has('sha256');
    if (
      this.opts.fast &&
      old?.content &&
      (!sha256 || old.sha256) &&
      old.type === 'file' &&
      old.size === st.size &&
      old.mtime === st.mtimeNs &&
      old.ctime === st.ctimeNs &&
      old.inode === st.ino &&
      old.dev === st.dev
    ) {
      rec.content = old.content;
      if (sha256) rec.sha256 = old.sha256;
      if (rule.check.growing) rec.prefix = { length: old.size, hash: old.content };
      if (!wantsExtended || this.reuseExtended(rec, old, st, want))
        return { kind: 'record', record: rec, hashedBytes: 0n };
      return this.withExtended(rec, access, st, want, at);
    }
    const prefixLen = rule.check.growing && old?.type === 'file' ? old.size : undefined;
    const box: { ext?: ExtendedOutcome } = {};
    // One shape whatever the rule asks (a spread of an optional withFd made two, and every load
    // from it in the hasher missed its inline cache).
    const also = {
      sha256,
      md5: false,
      withFd: wantsExtended
        ? (fd: number) => {
            box.ext = this.extended.read(fd, 'file', st.dev, want, fd);
          }
        : undefined,
    };
    // Opened through openat(2) on the walk's descriptor where libc serves; else by the procfs path.
    const target = at && libcAvailable() ? at : access();
    return this.hashed(path, rec, this.hasher.hash(target, st, prefixLen, also), prefixLen, box.ext);
  }

  /** The record of a hashed file, from the stat after its read; `rec` is what lstat told. */
  private hashed(
    path: Buffer,
    rec: FileRecord,
    h: HashOutcome,
    prefixLen: bigint | undefined,
    ext: ExtendedOutcome | undefined,
  ): Done {
    if (!h.ok) {
      if (h.vanished) return { kind: 'vanished' };
      return { kind: 'error', code: h.code, message: h.message, record: rec };
    }
    const fresh = recordFromStat(path, h.stat);
    fresh.content = h.content;
    fresh.sha256 = h.sha256;
    if (prefixLen !== undefined) fresh.prefix = h.prefix;
    if (ext !== undefined) {
      if (!ext.ok)
        return ext.vanished
          ? { kind: 'vanished' }
          : { kind: 'error', code: ext.code, message: ext.message, record: fresh };
      Object.assign(fresh, ext.fields);
    }
    return { kind: 'record', record: fresh, hashedBytes: h.stat.size };
  }

  /**
   * `--fast`: the baseline's capabilities, ACLs, label, xattrs and flags, when its ctime, inode and
   * device are the entry's. Every call that changes them (setxattr, removexattr, setfacl, setcap,
   * FS_IOC_SETFLAGS) moves the ctime, so an unchanged ctime means unchanged attributes, under the
   * trade-off --fast already makes for content (an intruder who can set the clock back can forge
   * a ctime; a full check reads everything). Without --fast, or with any of them unrecorded, false.
   */
  private reuseExtended(
    rec: FileRecord,
    old: FileRecord | undefined,
    st: EntryStat,
    want: ExtendedWant,
  ): boolean {
    if (!this.opts.fast || !old || old.type !== rec.type) return false;
    if (old.ctime !== st.ctimeNs || old.inode !== st.ino || old.dev !== st.dev) return false;
    // Field by field, not through a list of names: this runs for every entry of a --fast check.
    const flags = want.flags && (rec.type === 'file' || rec.type === 'dir');
    if (want.xattrs && (old.caps === null || old.acl === null || old.selinux === null || old.xattrs === null))
      return false;
    if (flags && old.flags === null) return false;
    if (want.xattrs) {
      rec.caps = old.caps;
      rec.acl = old.acl;
      rec.selinux = old.selinux;
      rec.xattrs = old.xattrs;
    }
    if (flags) rec.flags = old.flags;
    return true;
  }

  /**
   * Capabilities, ACLs, label, xattrs and flags of an entry that is not being hashed: through a
   * descriptor for a regular file or a directory (opened for it), by path for anything else.
   */
  private withExtended(
    rec: FileRecord,
    access: () => string | Buffer,
    st: EntryStat,
    want: ExtendedWant,
    at?: EntryAt,
  ): Done {
    const fd = rec.type === 'file' || rec.type === 'dir' ? openForAttributes(access, st, at) : null;
    let e: ExtendedOutcome;
    try {
      e = this.extended.read(fd ?? cPath(access()), rec.type, st.dev, want, fd);
    } finally {
      if (fd !== null) closeFd(fd);
    }
    if (!e.ok)
      return e.vanished
        ? { kind: 'vanished' }
        : { kind: 'error', code: e.code, message: e.message, record: rec };
    Object.assign(rec, e.fields);
    return { kind: 'record', record: rec, hashedBytes: 0n };
  }
}
