import { Daemon } from '../watch/daemon.js';
import type { CommonOptions, Output } from './context.js';

/** `fim watch`: one line per event on stdout, with `<N>` priority prefixes for journald. */
export async function watchCommand(o: CommonOptions, io: Output): Promise<number> {
  const log = (pri: number, msg: string) => io.out(`<${pri}>${msg.replace(/[\r\n]+/g, '; ')}\n`);
  const daemon = new Daemon({
    overrides: {
      ...(o.config !== undefined ? { config: o.config } : {}),
      ...(o.policy !== undefined ? { policy: o.policy } : {}),
      ...(o.db !== undefined ? { db: o.db } : {}),
    },
    log,
  });
  return daemon.run();
}
