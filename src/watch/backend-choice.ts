/**
 * Which watcher backend the daemon uses, chosen once at start (`watch.backend`: auto, inotify or
 * fanotify): fanotify where this process may use it (CAP_SYS_ADMIN in its effective set, Linux ≥
 * 5.9 for FAN_REPORT_DFID_NAME, libc callable, fanotify_init accepting the flags), inotify
 * otherwise. The choice and the reason are said in the start event, every heartbeat and the log.
 *
 * What it owns: the probe and the reason's wording; the fanotify descriptor it opened is handed
 * to the backend (fanotify.ts) or closed.
 *
 * What it must not do: fall back silently when fanotify was asked for by name (that is an error
 * the operator must see), or keep a descriptor it does not hand on.
 */
import { closeSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { UsageError } from '../errors.js';
import { FAN, fanInit } from '../sys/fanotify.js';

export const BACKENDS = ['auto', 'inotify', 'fanotify'] as const;
export type BackendSetting = (typeof BACKENDS)[number];

export type BackendChoice =
  | { kind: 'inotify'; reason: string }
  | { kind: 'fanotify'; reason: string; fd: number; pidfd: boolean };

const CAP_SYS_ADMIN = 21n;

/** CAP_SYS_ADMIN in this process's effective set (/proc/self/status CapEff). */
export function hasSysAdmin(status = readStatus()): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status);
  return m ? ((BigInt(`0x${m[1]}`) >> CAP_SYS_ADMIN) & 1n) === 1n : false;
}

function readStatus(): string {
  try {
    return readFileSync('/proc/self/status', 'latin1');
  } catch {
    return '';
  }
}

/** Linux version of a `uname -r` string as [major, minor]. */
export function kernelVersion(rel = release()): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

const atLeast = (v: [number, number], major: number, minor: number) =>
  v[0] > major || (v[0] === major && v[1] >= minor);

const BASE = FAN.CLOEXEC | FAN.NONBLOCK | FAN.CLASS_NOTIF | FAN.REPORT_FID | FAN.REPORT_DFID_NAME;

/** Probe and choose. Throws a UsageError when `fanotify` was asked for and cannot be had. */
export function chooseBackend(setting: BackendSetting): BackendChoice {
  if (setting === 'inotify') return { kind: 'inotify', reason: 'watch.backend is inotify' };
  const why = fanotifyProblem();
  let choice: BackendChoice | null = null;
  if (why === null) {
    // FAN_REPORT_PIDFD (5.15) pins the writer as the event is read; FAN_REPORT_TARGET_FID (5.17)
    // names the child of a create or link by its own handle; FAN_UNLIMITED_QUEUE (CAP_SYS_ADMIN)
    // lets the kernel queue grow (charged to fim's cgroup) instead of dropping events when the
    // reader is starved of CPU: a mark on a whole file system sees every write of the host, and
    // the reader bounds what it holds itself (fanotify-reader.ts). Without them the base flags do.
    const Q = FAN.UNLIMITED_QUEUE;
    for (const [extra, pidfd] of [
      [Q | FAN.REPORT_PIDFD | FAN.REPORT_TARGET_FID, true],
      [Q | FAN.REPORT_PIDFD, true],
      [FAN.REPORT_PIDFD, true],
      [0, false],
    ] as const) {
      const r = fanInit(BASE | extra);
      if (r.ok) {
        const v = release();
        const notes = [...(pidfd ? [] : ['no FAN_REPORT_PIDFD']), ...(extra & Q ? [] : ['queue of 16384'])];
        choice = {
          kind: 'fanotify',
          fd: r.n,
          pidfd,
          reason: `CAP_SYS_ADMIN and Linux ${v}${notes.length ? ` (${notes.join(', ')})` : ''}${setting === 'fanotify' ? ', watch.backend is fanotify' : ''}`,
        };
        break;
      }
    }
  }
  if (choice) return choice;
  const problem = why ?? 'fanotify_init refused the flags';
  if (setting === 'fanotify')
    throw new UsageError(`watch.backend is fanotify, but ${problem} (use auto or inotify)`);
  return { kind: 'inotify', reason: problem };
}

/** Why fanotify cannot be used here, or null. */
export function fanotifyProblem(): string | null {
  const v = kernelVersion();
  if (!atLeast(v, 5, 9)) return `Linux ${release()} is older than 5.9 (FAN_REPORT_DFID_NAME)`;
  if (!hasSysAdmin()) return 'no CAP_SYS_ADMIN (file-system marks need it)';
  const probe = fanInit(BASE);
  if (!probe.ok)
    return probe.errno === 38 ? 'libc is not callable (koffi)' : `fanotify_init: errno ${probe.errno}`;
  // The real descriptor is opened by chooseBackend with the richest flags the kernel takes.
  closeSync(probe.n);
  return null;
}

/** The words the start event, heartbeats and log use: `fanotify (CAP_SYS_ADMIN and Linux 6.18)`. */
export function backendText(c: BackendChoice): string {
  return `${c.kind} (${c.reason})`;
}
