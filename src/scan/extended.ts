/**
 * Reading what an inode carries beyond lstat: file capabilities, POSIX ACLs, the SELinux label,
 * every other extended attribute, and the inode flags, into the tagged values of
 * src/extended/value.ts. Through the descriptor the scanner holds where it holds one (so what is
 * read belongs to the inode that was checked), else through the access path with the l* calls,
 * which never follow the last name (a symlink's own xattrs, a FIFO's without opening it).
 *
 * "Unsupported" is what a file system that keeps no such thing gives (ramfs, procfs; FS_IOC_GETFLAGS
 * on a file system without flags): it is recorded, and never compared as a change. Which file
 * systems keep xattrs at all is learnt once per device, from a regular file or a directory (the
 * kernel refuses ACLs on symlinks whatever the file system).
 *
 * It must not open anything (the caller passes a descriptor, or none), follow a symlink, or throw
 * for an entry that vanishes or refuses (it says so in its result). Sizes are bounded by the
 * kernel (64 KiB a list, 64 KiB a value).
 */
import { constants } from 'node:os';
import { encodeAcl } from '../extended/acl.js';
import { encodeFlags } from '../extended/flags.js';
import { ABSENT, presentValue, UNSUPPORTED } from '../extended/value.js';
import { encodeXattrs, OWN_NAMES } from '../extended/xattrs.js';
import { Blake3 } from '../hash/blake3.js';
import type { Rule } from '../policy/policy.js';
import { ERRNO, getXattr, inodeFlags, listXattr, type SysResult, type XattrTarget } from '../sys/libc.js';
import type { FileRecord, FileType } from '../types.js';

export type ExtendedFields = Pick<FileRecord, 'caps' | 'acl' | 'selinux' | 'xattrs' | 'flags'>;

/** Which of them a rule asks for. */
export interface ExtendedWant {
  /** caps, acl, selinux or xattrs: all come from one listxattr. */
  xattrs: boolean;
  flags: boolean;
}

/** Per rule, once: the scanner asks for every entry it records. */
const wanted = new WeakMap<Rule, ExtendedWant>();

export function extendedWanted(rule: Rule): ExtendedWant {
  const known = wanted.get(rule);
  if (known) return known;
  const a = rule.check.attributes;
  const w = {
    xattrs: a.has('caps') || a.has('acl') || a.has('selinux') || a.has('xattrs'),
    flags: a.has('flags'),
  };
  wanted.set(rule, w);
  return w;
}

export type ExtendedOutcome =
  | { ok: true; fields: ExtendedFields }
  | { ok: false; vanished: true }
  | { ok: false; vanished?: false; code: string; message: string };

const NUL = Buffer.alloc(1);
const CAPS = Buffer.from('security.capability\0');
const ACL_ACCESS = Buffer.from('system.posix_acl_access\0');
const ACL_DEFAULT = Buffer.from('system.posix_acl_default\0');
const SELINUX = Buffer.from('security.selinux\0');
/** The kernel's limits (XATTR_LIST_MAX, XATTR_SIZE_MAX): a size past them is not believed. */
const MAX_BYTES = 65536;
const ATTEMPTS = 4;
/** What FS_IOC_GETFLAGS gives on a file system without inode flags. */
const NO_FLAGS: ReadonlySet<number> = new Set([ERRNO.ENOTTY, ERRNO.EOPNOTSUPP, ERRNO.EINVAL]);
const ERRNO_NAME = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));
const errnoName = (e: number) => ERRNO_NAME.get(e) ?? `errno ${e}`;

const NO_NAMES: Buffer[] = [];
const NO_KEYS: ReadonlySet<string> = new Set();
const EMPTY = Buffer.alloc(0);

/**
 * One tagged value per flags word seen (a file system uses a handful: `e`, `ie`, ...), so a scan of
 * 400,000 entries does not allocate two small Buffers for each. Bounded.
 */
const flagValues = new Map<number, Buffer>();
function flagsValue(flags: number): Buffer {
  let v = flagValues.get(flags);
  if (!v) {
    v = presentValue(encodeFlags(flags));
    if (flagValues.size < 256) flagValues.set(flags, v);
  }
  return v;
}

/** An access path as the NUL-terminated bytes the l* calls take. */
export function cPath(access: string | Buffer): Buffer {
  return Buffer.concat([typeof access === 'string' ? Buffer.from(access) : access, NUL]);
}

interface DeviceSupport {
  security: boolean;
  acl: boolean;
}

export class ExtendedReader {
  private readonly small = Buffer.allocUnsafe(1024);
  private readonly hasher = new Blake3();
  private readonly devices = new Map<bigint, DeviceSupport>();

  /**
   * Read what `want` asks. `target`: the entry's descriptor or its NUL-terminated access path;
   * `flagsFd`: a descriptor to ask the flags through (regular files and directories only).
   */
  read(
    target: XattrTarget,
    type: FileType,
    dev: bigint,
    want: ExtendedWant,
    flagsFd: number | null,
  ): ExtendedOutcome {
    const fields: ExtendedFields = { caps: null, acl: null, selinux: null, xattrs: null, flags: null };
    if (want.flags && flagsFd !== null) {
      const r = inodeFlags(flagsFd);
      if (r?.ok) fields.flags = flagsValue(r.flags);
      else if (r && NO_FLAGS.has(r.errno)) fields.flags = UNSUPPORTED;
      else if (r) return this.failed(r.errno, 'cannot read inode flags');
    }
    if (!want.xattrs) return { ok: true, fields };
    const list = this.sized((buf) => listXattr(target, buf));
    if (list === undefined) return { ok: true, fields }; // no libc: not recorded
    if (!list.ok) {
      if (list.errno === ERRNO.EOPNOTSUPP) {
        fields.caps = fields.acl = fields.selinux = fields.xattrs = UNSUPPORTED;
        return { ok: true, fields };
      }
      return this.failed(list.errno, 'cannot list extended attributes');
    }
    const names = list.value.length === 0 ? NO_NAMES : splitNames(list.value);
    const has = names.length === 0 ? NO_KEYS : new Set(names.map((n) => n.toString('latin1')));
    const support = this.support(target, type, dev, has);
    const value = (name: Buffer): Buffer | null | { errno: number } => {
      const r = this.sized((buf) => getXattr(target, name, buf));
      if (r === undefined) return null;
      if (r.ok) return r.value;
      // Removed between the list and the read: as if never listed.
      return r.errno === ERRNO.ENODATA ? null : { errno: r.errno };
    };
    const own = (name: Buffer, key: string, supported: boolean): Buffer | { errno: number } => {
      if (names.length === 0) return supported ? ABSENT : UNSUPPORTED;
      if (!has.has(key)) return supported ? ABSENT : UNSUPPORTED;
      const v = value(name);
      if (v === null) return ABSENT;
      return Buffer.isBuffer(v) ? presentValue(v) : v;
    };
    const caps = own(CAPS, 'security.capability', support.security);
    if (!Buffer.isBuffer(caps)) return this.failed(caps.errno, 'cannot read security.capability');
    const selinux = own(SELINUX, 'security.selinux', support.security);
    if (!Buffer.isBuffer(selinux)) return this.failed(selinux.errno, 'cannot read security.selinux');
    fields.caps = caps;
    fields.selinux = selinux;
    const acl: (Buffer | null)[] = [];
    for (const [name, key] of [
      [ACL_ACCESS, 'system.posix_acl_access'],
      [ACL_DEFAULT, 'system.posix_acl_default'],
    ] as const) {
      const v = has.has(key) ? value(name) : null;
      if (v !== null && !Buffer.isBuffer(v)) return this.failed(v.errno, `cannot read ${key}`);
      acl.push(v);
    }
    const [access = null, dflt = null] = acl;
    fields.acl =
      access === null && dflt === null
        ? support.acl
          ? ABSENT
          : UNSUPPORTED
        : presentValue(encodeAcl(access, dflt));
    const others: { name: Buffer; digest: Buffer }[] = [];
    for (const name of names) {
      if (OWN_NAMES.has(name.toString('latin1'))) continue;
      const v = value(Buffer.concat([name, NUL]));
      if (v === null) continue;
      if (!Buffer.isBuffer(v)) return this.failed(v.errno, 'cannot read an extended attribute');
      this.hasher.reset();
      others.push({ name: Buffer.from(name), digest: this.hasher.update(v).digest() });
    }
    fields.xattrs =
      others.length > 0 ? presentValue(encodeXattrs(others)) : support.security ? ABSENT : UNSUPPORTED;
    return { ok: true, fields };
  }

  private failed(errno: number, what: string): ExtendedOutcome {
    if (errno === ERRNO.ENOENT) return { ok: false, vanished: true };
    const code = errnoName(errno);
    return { ok: false, code, message: `${what}: ${code}` };
  }

  /**
   * Whether this entry's file system keeps security.* xattrs and ACLs at all. A listed name proves
   * it; otherwise ask once per device (EOPNOTSUPP means no), from a file or directory only.
   */
  private support(target: XattrTarget, type: FileType, dev: bigint, has: ReadonlySet<string>): DeviceSupport {
    const known = this.devices.get(dev);
    if (known) return { security: known.security, acl: known.acl && type !== 'symlink' };
    const probe = (name: Buffer, key: string) => {
      if (has.has(key)) return true;
      const r = getXattr(target, name, null);
      return !(r && !r.ok && r.errno === ERRNO.EOPNOTSUPP);
    };
    const security = [...has].some((n) => n.startsWith('security.')) || probe(CAPS, 'security.capability');
    if (type === 'symlink') return { security, acl: false };
    const found = { security, acl: probe(ACL_ACCESS, 'system.posix_acl_access') };
    if (type === 'file' || type === 'dir') this.devices.set(dev, found);
    return found;
  }

  /**
   * A call that fills a buffer, retried with the size the kernel asks for when the value grew
   * (ERANGE); a copy of the bytes it gave.
   */
  private sized(
    call: (buf: Buffer | null) => SysResult | undefined,
  ): { ok: true; value: Buffer } | { ok: false; errno: number } | undefined {
    let buf = this.small;
    for (let i = 0; i < ATTEMPTS; i++) {
      const r = call(buf);
      if (r === undefined) return undefined;
      if (r.ok) return { ok: true, value: r.n === 0 ? EMPTY : Buffer.from(buf.subarray(0, r.n)) };
      if (r.errno !== ERRNO.ERANGE) return r;
      const size = call(null);
      if (size === undefined) return undefined;
      if (!size.ok) return size;
      if (size.n > MAX_BYTES) return { ok: false, errno: ERRNO.E2BIG };
      buf = Buffer.allocUnsafe(Math.max(size.n, 1));
    }
    return { ok: false, errno: ERRNO.ERANGE };
  }
}

/** listxattr's NUL-separated names, as views of `list`. */
function splitNames(list: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] !== 0) continue;
    if (i > start) out.push(list.subarray(start, i));
    start = i + 1;
  }
  return out;
}
