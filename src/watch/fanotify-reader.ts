/**
 * The fanotify reader: a worker thread that waits on the fanotify descriptor (poll(2), then
 * non-blocking read(2), both through koffi), decodes the events, keeps only those fim cares about
 * and attributes them, off the daemon's event loop. A file-system mark reports every change on the
 * whole file system (every build and log write on `/`), so the filtering happens here: an event
 * is kept when its directory handle is one of the covered directories, or when the object's own
 * handle is an inode fim knows (a write through a hard link made outside the tree). Only kept
 * events are attributed (/proc read at once, attribution.ts) and posted to the main thread in
 * batches, bounded (READER_CREDITS, MAX_PENDING).
 *
 * What it owns: the read loop, the filter sets the main thread sends it, the handle → inode cache,
 * and the bound on what waits for the main thread (past it: `overflow`).
 *
 * What it must not do: resolve paths (handles stay keys; the main thread maps them), or leak the
 * pidfds the kernel opens for every event.
 */
import { fstatSync } from 'node:fs';
import { isMainThread, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import {
  closeFd,
  FAN,
  type FanEvent,
  O_PATH,
  openByHandle,
  parseEvents,
  pidfdAlive,
  pidfdInfo,
  pollIn,
  readFd,
} from '../sys/fanotify.js';
import type { Who } from '../types.js';
import { readWho, WhoCache } from './attribution.js';
import { type InoKey, inoKey } from './inode-paths.js';

/** Main thread → reader. Handle keys are hex; inodes are numbers (inode-paths.ts) per fsid (hex). */
export type ReaderControl =
  | { t: 'dirs'; add: string[]; remove: string[] }
  | { t: 'inodes'; fsid: string; add: InoKey[] }
  | { t: 'mount'; fsid: string; fd: number };

/** One kept event: a covered directory's handle and the entry's name, or a known inode. */
export interface KeptEvent {
  mask: number;
  dir?: string;
  name?: Uint8Array | null;
  /** A known inode: its file system (hex) and number. */
  fsid?: string;
  ino?: InoKey;
  who: Who;
}

export type ReaderMessage =
  | { t: 'events'; events: KeptEvent[] }
  | { t: 'overflow' }
  | { t: 'error'; message: string };

export interface ReaderData {
  fd: number;
  /**
   * [0]: set to 1 to stop; the loop notices within one poll timeout. [1]: credits, the batches the
   * main thread accepts ahead of handling them (it adds one back per batch handled).
   */
  control: Int32Array;
}

/**
 * Batches posted ahead of the main thread. Past them the reader keeps reading (and discarding what
 * is not fim's: a file-system mark sees every write on it) but holds what it keeps, at most
 * MAX_PENDING events; past that it drops them and says `overflow` once (the daemon runs a full
 * check), and holds nothing more until the main thread has caught up. So a flood of unrelated
 * writes costs CPU, never a full check, and a stalled daemon costs a full check, never memory.
 */
export const READER_CREDITS = 2;
/** Kept events held while the main thread is behind (the kernel's own queue length). */
export const MAX_PENDING = 16_384;
/** At most this many events a message. */
const BATCH = 4096;
const POLL_MS = 100;
/** While events wait for a credit: how soon to look again. */
const RETRY_MS = 5;
const READ_BUF = 64 * 1024;
/** FILEID_INO32_GEN (ext2/3/4 and others): the handle's first 32-bit word is the inode number. */
const FILEID_INO32_GEN = 1;
const FAN_EPIDFD = -2;

/** The inode number of an object handle (fsid 8 bytes, handle_bytes, handle_type, f_handle). */
function inodeOf(
  fid: Buffer,
  fsid: string,
  mounts: Map<string, number>,
  cache: Map<string, InoKey | null>,
): InoKey | null {
  const type = fid.readInt32LE(12);
  if (type === FILEID_INO32_GEN && fid.readUInt32LE(8) >= 8) return fid.readUInt32LE(16);
  const k = fid.toString('hex');
  const hit = cache.get(k);
  if (hit !== undefined) return hit;
  const mount = mounts.get(fsid);
  let out: InoKey | null = null;
  if (mount !== undefined) {
    const r = openByHandle(mount, fid, O_PATH);
    if (r.ok) {
      try {
        out = inoKey(fstatSync(r.n, { bigint: true }).ino);
      } catch {
        out = null;
      }
      closeFd(r.n);
    }
  }
  if (cache.size > 16_384) cache.clear();
  cache.set(k, out);
  return out;
}

function run(port: NonNullable<typeof parentPort>, data: ReaderData): void {
  const dirs = new Set<string>();
  /** fsid (hex) → the covered files' inode numbers on it. */
  const inodes = new Map<string, Set<InoKey>>();
  const mounts = new Map<string, number>();
  const fidCache = new Map<string, InoKey | null>();
  const whoCache = new WhoCache();
  const buf = Buffer.alloc(READ_BUF);
  const drain = () => {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const c = m.message as ReaderControl;
      if (c.t === 'dirs') {
        for (const k of c.add) dirs.add(k);
        for (const k of c.remove) dirs.delete(k);
      } else if (c.t === 'inodes') {
        let known = inodes.get(c.fsid);
        if (!known) {
          known = new Set();
          inodes.set(c.fsid, known);
        }
        for (const k of c.add) known.add(k);
      } else mounts.set(c.fsid, c.fd);
    }
  };
  const attribute = (ev: FanEvent, now: number): Who => {
    if (ev.pidfd === FAN_EPIDFD) return { pid: ev.pid, exited: true };
    return whoCache.get(ev.pid, now, () =>
      ev.pidfd >= 0
        ? readWho(
            ev.pid,
            () => pidfdAlive(ev.pidfd),
            () => pidfdInfo(ev.pidfd),
          )
        : readWho(ev.pid),
    );
  };
  let pending: KeptEvent[] = [];
  /** Dropped past MAX_PENDING: keep nothing until the main thread has taken what it was sent. */
  let dropping = false;
  const flush = () => {
    if (dropping && Atomics.load(data.control, 1) >= READER_CREDITS) dropping = false;
    while (pending.length && Atomics.load(data.control, 1) > 0) {
      Atomics.sub(data.control, 1, 1);
      const events = pending.length > BATCH ? pending.splice(0, BATCH) : pending;
      if (events === pending) pending = [];
      port.postMessage({ t: 'events', events } satisfies ReaderMessage);
    }
  };
  while (Atomics.load(data.control, 0) === 0) {
    drain();
    flush();
    if (!pollIn(data.fd, pending.length ? RETRY_MS : POLL_MS)) continue;
    drain(); // marks and directories sent while we waited
    const r = readFd(data.fd, buf);
    if (!r.ok) {
      if (r.errno !== 11 && r.errno !== 4)
        port.postMessage({ t: 'error', message: `read: errno ${r.errno}` });
      continue;
    }
    const now = Date.now();
    for (const ev of parseEvents(buf, r.n)) {
      try {
        if (ev.mask & FAN.Q_OVERFLOW) {
          port.postMessage({ t: 'overflow' } satisfies ReaderMessage);
          continue;
        }
        let k: KeptEvent | null = null;
        const dir = ev.dir?.toString('hex');
        if (dir !== undefined && dirs.has(dir)) {
          k = { mask: ev.mask, dir, name: ev.name, who: attribute(ev, now) };
        } else if (ev.fid && !(ev.mask & FAN.ONDIR)) {
          const fsid = ev.fid.subarray(0, 8).toString('hex');
          const known = inodes.get(fsid);
          const ino = known ? inodeOf(ev.fid, fsid, mounts, fidCache) : null;
          if (ino !== null && known?.has(ino)) k = { mask: ev.mask, fsid, ino, who: attribute(ev, now) };
        }
        if (k === null || dropping) continue;
        if (pending.length >= MAX_PENDING) {
          pending = [];
          dropping = true;
          port.postMessage({ t: 'overflow' } satisfies ReaderMessage);
          continue;
        }
        pending.push(k);
      } finally {
        if (ev.pidfd >= 0) closeFd(ev.pidfd);
      }
    }
  }
}

if (!isMainThread && parentPort) run(parentPort, workerData as ReaderData);
