/**
 * `watch()`: run the daemon until SIGTERM or SIGINT; resolves with its exit status. Each event is
 * one log line handed to `log` with its syslog priority.
 */
import { fanotifyProblem } from '../watch/backend-choice.js';
import { Daemon } from '../watch/daemon.js';
import type { SessionOptions } from './session.js';

export interface WatchOptions extends SessionOptions {
  /** One line per event; `priority` is a syslog severity (0 emerg … 7 debug). */
  log: (priority: number, message: string) => void;
}

export function watch(o: WatchOptions): Promise<number> {
  const daemon = new Daemon({
    overrides: {
      ...(o.config !== undefined ? { config: o.config } : {}),
      ...(o.policy !== undefined ? { policy: o.policy } : {}),
      ...(o.db !== undefined ? { db: o.db } : {}),
    },
    log: o.log,
  });
  return daemon.run();
}

/**
 * What `watch.backend: auto` would pick on this host now, and why, for `fim watch --help`:
 * fanotify where the process may use it (CAP_SYS_ADMIN, Linux 5.9+), inotify otherwise.
 */
export function watchBackendHere(): string {
  const problem = fanotifyProblem();
  return problem === null
    ? 'fanotify (this process holds CAP_SYS_ADMIN on Linux 5.9 or later)'
    : `inotify (fanotify cannot be used: ${problem})`;
}
