/**
 * How the daemon's parts speak: a log line for journald (with its syslog priority), and for some of
 * them a sealed alert too. The parts never print or send themselves; the daemon passes them a
 * `Notify` that does both, in that order.
 */
import type { AlertEvent, HeartbeatStatus } from '../alert/index.js';

/** syslog priorities for the `<N>` prefixes journald reads. */
export const Pri = { crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;
export type Logger = (pri: number, msg: string) => void;

/** Log a line and, when `alert` is given, send it as an alert too. */
export type Notify = (pri: number, msg: string, alert?: AlertEvent) => void;

const mb = (n: number) => (n / 1e6).toFixed(0);

/** The heartbeat's log line: what is watched, and this process's memory. */
export function heartbeatLine(s: HeartbeatStatus): string {
  const mem = process.memoryUsage();
  return `heartbeat: ${s.watchedDirs} watched, ${s.unwatchedDirs} unwatched, ${s.dirty} dirty, ${s.openFindings} open findings, rss ${mb(mem.rss)} MB, heap ${mb(mem.heapUsed)} MB, external ${mb(mem.external)} MB`;
}
