/**
 * Attribution: which process made a change, read from /proc at event time (in the fanotify
 * reader's thread, right after the event is read): pid, uid, login uid, exe, command line, parent
 * and its exe, cgroup and a container id. With FAN_REPORT_PIDFD the kernel pins the process as
 * the event is read, so "gone already" (FAN_EPIDFD) and "gone while read" (pidfd_send_signal
 * fails) are told apart from a reused pid. A process gone before it is read is `exited`, with
 * whatever was known.
 *
 * What it owns: reading and caching (a burst of writes by one process is one attribution, read
 * once). Its one-line text form is display.ts `whoText`.
 *
 * What it must not do: trust what it reads. exe, arguments and cgroup paths are bytes the writer
 * chose; they are kept in display form (src/display.ts), bounded, and escaped again where sent.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { displayBytes } from '../display.js';
import type { Who } from '../types.js';

/** At most this much of a command line is kept (the alert is cut to 2048 bytes anyway). */
const MAX_CMDLINE = 1024;
const MAX_ARGS = 32;
/** A process seen this recently is not read again: a burst of writes is one attribution. */
export const WHO_TTL_MS = 1_000;

function readBytes(path: string, max: number): Buffer | null {
  try {
    const b = readFileSync(path);
    return b.length > max ? b.subarray(0, max) : b;
  } catch {
    return null;
  }
}

function link(path: string): string | undefined {
  try {
    return displayBytes(readlinkSync(path, { encoding: 'buffer' }));
  } catch {
    return undefined;
  }
}

/** `Name:\tvalue` lines of /proc/PID/status. */
function statusField(status: string, name: string): number | undefined {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
  return m ? Number(m[1]) : undefined;
}

/** The NUL-separated arguments of /proc/PID/cmdline, in display form, bounded. */
export function parseCmdline(b: Buffer): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i <= b.length && parts.length < MAX_ARGS; i++) {
    if (i === b.length || b[i] === 0) {
      if (i > start || i < b.length) parts.push(displayBytes(b.subarray(start, i)));
      start = i + 1;
    }
  }
  return parts;
}

/** The cgroup v2 path (`0::/…`) and a 64-hex container id in it (docker, containerd, podman). */
export function parseCgroup(text: string): { cgroup?: string; container?: string } {
  const line = text.split('\n').find((l) => l.startsWith('0::')) ?? text.split('\n')[0] ?? '';
  const path = line.replace(/^[^:]*:[^:]*:/, '');
  if (!path) return {};
  const id = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?(?:$|\/)/.exec(path)?.[1];
  return { cgroup: displayBytes(Buffer.from(path)), ...(id ? { container: id } : {}) };
}

/**
 * Read what /proc says of `pid` now. `alive` (the pidfd's check, where the kernel gave one) is
 * asked after the reads: when it says the process is gone, what was read is kept and the result is
 * `exited`. A process that is alive but hidden from us (ProtectProc=invisible, another user's
 * process under the shipped unit) is not `exited`: its pid, and its uid and parent where `info`
 * (the pidfd's PIDFD_GET_INFO) can say.
 */
export function readWho(
  pid: number,
  alive?: () => boolean,
  info?: () => { uid: number; ppid: number } | null,
): Who {
  const who: Who = { pid, exited: false };
  if (pid <= 0) return { pid, exited: true };
  const base = `/proc/${pid}`;
  const status = readBytes(`${base}/status`, 8192)?.toString('latin1');
  if (status === undefined) {
    if (alive && !alive()) return { pid, exited: true };
    if (!alive) return { pid, exited: true };
    // Alive but hidden from us: what the pidfd itself says (PIDFD_GET_INFO, Linux 6.13+).
    const i = info?.();
    return i ? { pid, exited: false, uid: i.uid, ppid: i.ppid } : { pid, exited: false };
  }
  const uid = statusField(status, 'Uid');
  const ppid = statusField(status, 'PPid');
  if (uid !== undefined) who.uid = uid;
  const login = Number(readBytes(`${base}/loginuid`, 32)?.toString('latin1'));
  if (Number.isSafeInteger(login)) who.loginuid = login;
  const exe = link(`${base}/exe`);
  if (exe !== undefined) who.exe = exe;
  const cmd = readBytes(`${base}/cmdline`, MAX_CMDLINE);
  if (cmd && cmd.length > 0) who.cmdline = parseCmdline(cmd);
  if (ppid !== undefined) {
    who.ppid = ppid;
    const pexe = link(`/proc/${ppid}/exe`);
    if (pexe !== undefined) who.pexe = pexe;
  }
  const cg = readBytes(`${base}/cgroup`, 4096);
  if (cg) Object.assign(who, parseCgroup(cg.toString('latin1')));
  // Gone meanwhile (or a zombie: no exe, no cmdline): what was known, marked as such.
  if ((alive && !alive()) || (who.exe === undefined && who.cmdline === undefined)) who.exited = true;
  return who;
}

/** Attributions by pid, each read once per `ttlMs` (a burst by one process is one read). */
export class WhoCache {
  private readonly byPid = new Map<number, { who: Who; at: number }>();

  constructor(private readonly ttlMs = WHO_TTL_MS) {}

  get(pid: number, now: number, read: () => Who): Who {
    const hit = this.byPid.get(pid);
    if (hit && now - hit.at < this.ttlMs) return hit.who;
    const who = read();
    this.byPid.set(pid, { who, at: now });
    if (this.byPid.size > 4096) {
      for (const [k, v] of this.byPid) if (now - v.at >= this.ttlMs) this.byPid.delete(k);
    }
    return who;
  }
}
