/**
 * fanotify(7) through libc (koffi stays in libc.ts; this module binds by signature through
 * `libcFunction`): fanotify_init, fanotify_mark, the read of its descriptor, and the file-handle
 * calls that turn what an event names back into something fim knows (name_to_handle_at,
 * open_by_handle_at, fstatfs for a file system's fsid). `parseEvents` decodes a read buffer:
 * struct fanotify_event_metadata, then its info records (FAN_EVENT_INFO_TYPE_FID, DFID_NAME,
 * PIDFD). Names stay bytes.
 *
 * What it must not do: decide anything about paths or policy (src/watch/fanotify.ts does), or be
 * required: `fanotifyCalls()` is null where libc cannot be used, and the daemon falls back to
 * inotify.
 */
import { lastErrno, libcFunction } from './libc.js';

export const FAN = {
  CLOEXEC: 0x1,
  NONBLOCK: 0x2,
  CLASS_NOTIF: 0x0,
  UNLIMITED_QUEUE: 0x10,
  REPORT_PIDFD: 0x80,
  REPORT_FID: 0x200,
  REPORT_DFID_NAME: 0xc00,
  REPORT_TARGET_FID: 0x1000,
  MARK_ADD: 0x1,
  MARK_REMOVE: 0x2,
  MARK_FILESYSTEM: 0x100,
  MODIFY: 0x2,
  ATTRIB: 0x4,
  CLOSE_WRITE: 0x8,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  Q_OVERFLOW: 0x4000,
  RENAME: 0x10000000,
  ONDIR: 0x40000000,
} as const;

/** What fim asks of a file system mark: every change to names, bytes and metadata. */
export const FAN_WATCH_MASK =
  FAN.MODIFY |
  FAN.ATTRIB |
  FAN.CLOSE_WRITE |
  FAN.MOVED_FROM |
  FAN.MOVED_TO |
  FAN.CREATE |
  FAN.DELETE |
  FAN.DELETE_SELF |
  FAN.MOVE_SELF |
  FAN.ONDIR;

const INFO_FID = 1;
const INFO_DFID_NAME = 2;
const INFO_DFID = 3;
const INFO_PIDFD = 4;
const METADATA_LEN = 24;
const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
export const O_PATH = 0x200000;
const POLLIN = 1;

/** One decoded event. Handles are `fsid (8 bytes) + struct file_handle`: a key as they are. */
export interface FanEvent {
  mask: number;
  pid: number;
  /** The directory's handle (DFID_NAME or DFID record), with the entry's name when given. */
  dir: Buffer | null;
  name: Buffer | null;
  /** The object's own handle (FID record): the file itself, for matching by inode. */
  fid: Buffer | null;
  /** The pidfd the kernel opened (FAN_REPORT_PIDFD), -1 none asked, -2 (FAN_EPIDFD) already gone. */
  pidfd: number;
}

/** Decode `len` bytes of events read from a fanotify descriptor. Malformed tails are dropped. */
export function parseEvents(buf: Buffer, len: number): FanEvent[] {
  const out: FanEvent[] = [];
  let off = 0;
  while (off + METADATA_LEN <= len) {
    const eventLen = buf.readUInt32LE(off);
    if (eventLen < METADATA_LEN || off + eventLen > len) break;
    const metaLen = buf.readUInt16LE(off + 6);
    const ev: FanEvent = {
      mask: Number(buf.readBigUInt64LE(off + 8) & 0xffffffffn),
      pid: buf.readInt32LE(off + 20),
      dir: null,
      name: null,
      fid: null,
      pidfd: -1,
    };
    let p = off + metaLen;
    const end = off + eventLen;
    while (p + 4 <= end) {
      const type = buf.readUInt8(p);
      const infoLen = buf.readUInt16LE(p + 2);
      if (infoLen < 4 || p + infoLen > end) break;
      if (type === INFO_PIDFD && infoLen >= 8) ev.pidfd = buf.readInt32LE(p + 4);
      else if ((type === INFO_FID || type === INFO_DFID || type === INFO_DFID_NAME) && infoLen >= 20) {
        const handleBytes = buf.readUInt32LE(p + 12);
        const hEnd = p + 20 + handleBytes;
        if (hEnd <= p + infoLen) {
          // fsid + handle_bytes + handle_type + f_handle: copied, the read buffer is reused.
          const key = Buffer.from(buf.subarray(p + 4, hEnd));
          if (type === INFO_FID) ev.fid = key;
          else {
            ev.dir = key;
            if (type === INFO_DFID_NAME) {
              const nul = buf.indexOf(0, hEnd);
              const nEnd = nul < 0 || nul > p + infoLen ? p + infoLen : nul;
              const name = Buffer.from(buf.subarray(hEnd, nEnd));
              ev.name = name.length === 1 && name[0] === 0x2e ? null : name; // "." : the directory itself
            }
          }
        }
      }
      p += infoLen;
    }
    out.push(ev);
    off += eventLen;
  }
  return out;
}

type I = number | bigint;
interface Calls {
  init: (flags: number, eventFlags: number) => I;
  mark: (fd: number, flags: number, mask: bigint, dirfd: number, path: Buffer | null) => I;
  read: (fd: number, buf: Buffer, n: number) => I;
  poll: (fds: Buffer, n: number, timeout: number) => I;
  close: (fd: number) => I;
  nameToHandle: (dirfd: number, path: Buffer, handle: Buffer, mountId: Buffer, flags: number) => I;
  openByHandle: (mountFd: number, handle: Buffer, flags: number) => I;
  fstatfs: (fd: number, buf: Buffer) => I;
  pidfdSignal: (pidfd: number, sig: number, info: null, flags: number) => I;
  ioctl: (fd: number, request: number, arg: Buffer) => I;
  pidfdOpen: (pid: number, flags: number) => I;
}

let calls: Calls | null | undefined;

/** The bound calls, or null where libc (or one of these symbols) cannot be used. */
export function fanotifyCalls(): Calls | null {
  if (calls !== undefined) return calls;
  const f = <T>(sig: string) => libcFunction<T>(sig);
  const c = {
    init: f<Calls['init']>('int fanotify_init(unsigned int flags, unsigned int event_f_flags)'),
    mark: f<Calls['mark']>(
      'int fanotify_mark(int fd, unsigned int flags, uint64_t mask, int dirfd, const void *path)',
    ),
    read: f<Calls['read']>('intptr_t read(int fd, void *buf, size_t n)'),
    poll: f<Calls['poll']>('int poll(void *fds, unsigned long n, int timeout)'),
    close: f<Calls['close']>('int close(int fd)'),
    nameToHandle: f<Calls['nameToHandle']>(
      'int name_to_handle_at(int dirfd, const void *path, void *handle, void *mount_id, int flags)',
    ),
    openByHandle: f<Calls['openByHandle']>('int open_by_handle_at(int mount_fd, void *handle, int flags)'),
    fstatfs: f<Calls['fstatfs']>('int fstatfs(int fd, void *buf)'),
    pidfdSignal: f<Calls['pidfdSignal']>(
      'int pidfd_send_signal(int pidfd, int sig, void *info, unsigned int flags)',
    ),
    ioctl: f<Calls['ioctl']>('int ioctl(int fd, unsigned long request, void *arg)'),
    pidfdOpen: f<Calls['pidfdOpen']>('int pidfd_open(int pid, unsigned int flags)'),
  };
  const all = Object.values(c).every((x) => x !== null);
  calls = all ? (c as Calls) : null;
  return calls;
}

/** A call's result or the errno it failed with. */
export type FdResult = { ok: true; n: number } | { ok: false; errno: number };
const res = (r: I): FdResult => {
  const n = Number(r);
  return n >= 0 ? { ok: true, n } : { ok: false, errno: lastErrno() };
};

export function fanInit(flags: number): FdResult {
  const c = fanotifyCalls();
  if (!c) return { ok: false, errno: 38 }; // ENOSYS
  // event_f_flags: only for descriptors of events without file handles (none here).
  return res(c.init(flags, 0x80000 /* O_CLOEXEC */));
}

/** Mark (or unmark) the file system holding the directory open as `dirfd`. */
export function fanMarkFilesystem(fd: number, dirfd: number, add: boolean): FdResult {
  const c = fanotifyCalls()!;
  const flags = (add ? FAN.MARK_ADD : FAN.MARK_REMOVE) | FAN.MARK_FILESYSTEM;
  return res(c.mark(fd, flags, BigInt(FAN_WATCH_MASK), dirfd, null));
}

/** The fsid of the file system of an open descriptor (statfs f_fsid, 8 bytes), the first half of a handle key. */
export function fsidOf(fd: number): Buffer | null {
  const b = Buffer.alloc(120);
  const r = res(fanotifyCalls()!.fstatfs(fd, b));
  return r.ok ? Buffer.from(b.subarray(56, 64)) : null;
}

const handleBuf = Buffer.alloc(8 + 128);
const mountId = Buffer.alloc(4);

/** The handle of an open directory or file (AT_EMPTY_PATH), as the bytes an event reports after its fsid. */
export function handleOf(fd: number): Buffer | null {
  handleBuf.writeUInt32LE(128, 0);
  const r = res(fanotifyCalls()!.nameToHandle(fd, Buffer.from('\0'), handleBuf, mountId, AT_EMPTY_PATH));
  if (!r.ok) return null;
  return Buffer.from(handleBuf.subarray(0, 8 + handleBuf.readUInt32LE(0)));
}

/** open_by_handle_at(2) of a handle key (fsid stripped): needs CAP_DAC_READ_SEARCH. */
export function openByHandle(mountFd: number, key: Buffer, flags: number): FdResult {
  return res(fanotifyCalls()!.openByHandle(mountFd, key.subarray(8), flags));
}

const pollBuf = Buffer.alloc(8);
/** Wait up to `timeoutMs` for the descriptor to be readable. */
export function pollIn(fd: number, timeoutMs: number): boolean {
  pollBuf.writeInt32LE(fd, 0);
  pollBuf.writeInt16LE(POLLIN, 4);
  pollBuf.writeInt16LE(0, 6);
  const n = Number(fanotifyCalls()!.poll(pollBuf, 1, timeoutMs));
  return n > 0 && (pollBuf.readInt16LE(6) & POLLIN) !== 0;
}

export function readFd(fd: number, buf: Buffer): FdResult {
  return res(fanotifyCalls()!.read(fd, buf, buf.length));
}

export function closeFd(fd: number): void {
  fanotifyCalls()?.close(fd);
}

/** The process behind a pidfd is still alive (pidfd_send_signal with signal 0). */
export function pidfdAlive(pidfd: number): boolean {
  return res(fanotifyCalls()!.pidfdSignal(pidfd, 0, null, 0)).ok;
}

/** PIDFD_GET_INFO = _IOWR(PIDFS_IOCTL_MAGIC 0xFF, 11, struct pidfd_info of 64 bytes): Linux 6.13+. */
const PIDFD_GET_INFO = 0xc040ff0b;
const PIDFD_INFO_PID = 1n;
const PIDFD_INFO_CREDS = 2n;
const infoBuf = Buffer.alloc(64);

/**
 * What the kernel says of a pidfd's process without /proc (so also when /proc hides it:
 * ProtectProc=invisible): its real uid and parent pid. null before Linux 6.13 or once it is gone.
 */
export function pidfdInfo(pidfd: number): { uid: number; ppid: number } | null {
  const c = fanotifyCalls();
  if (!c) return null;
  infoBuf.fill(0);
  infoBuf.writeBigUInt64LE(PIDFD_INFO_PID | PIDFD_INFO_CREDS, 0);
  if (Number(c.ioctl(pidfd, PIDFD_GET_INFO, infoBuf)) < 0) return null;
  // mask u64, cgroupid u64, then u32: pid, tgid, ppid, ruid, ...
  return { uid: infoBuf.readUInt32LE(28), ppid: infoBuf.readUInt32LE(24) };
}

/** pidfd_open(2), for tests and probes: a pidfd of `pid`, or the errno. */
export function pidfdOpen(pid: number): FdResult {
  return res(fanotifyCalls()!.pidfdOpen(pid, 0));
}

export { AT_FDCWD };
