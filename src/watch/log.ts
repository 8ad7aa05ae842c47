/**
 * How the daemon's parts speak: a log line for journald (with its syslog priority), and for some of
 * them a sealed alert too. The parts never print or send themselves; the daemon passes them a
 * `Notify` that does both, in that order.
 */
import type { AlertEvent } from '../alert/index.js';

/** syslog priorities for the `<N>` prefixes journald reads. */
export const Pri = { crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;
export type Logger = (pri: number, msg: string) => void;

/** Log a line and, when `alert` is given, send it as an alert too. */
export type Notify = (pri: number, msg: string, alert?: AlertEvent) => void;
