/**
 * `watch()`: run the daemon until SIGTERM or SIGINT; resolves with its exit status. Each event is
 * one log line handed to `log` with its syslog priority.
 */
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

export { watchBackendHere } from './watch-backend.js';
