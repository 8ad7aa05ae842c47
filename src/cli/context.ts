/**
 * What every command shares: the common options, where output goes, and the option helpers. The
 * commands are thin adapters over the library API (src/api/), which loads configuration, policy
 * and database.
 */
import type { SessionOptions } from '../api/session.js';
import type { Output } from '../types.js';

export interface CommonOptions {
  config?: string;
  policy?: string[];
  db?: string;
  json?: boolean;
  quiet?: boolean;
}

/** The session part of the common options: where configuration, policies and database come from. */
export function sessionOf(o: CommonOptions): SessionOptions {
  return {
    ...(o.config !== undefined ? { config: o.config } : {}),
    ...(o.policy !== undefined ? { policy: o.policy } : {}),
    ...(o.db !== undefined ? { db: o.db } : {}),
  };
}

export type { Output } from '../types.js';

/**
 * The process's stdout and stderr. A reader that goes away (`fim check | head`) is not an error of
 * fim's: the run has already journaled and alerted, so the rest of the output is dropped quietly,
 * as coreutils do on SIGPIPE, and the exit status still says what was found.
 */
export const stdio: Output = {
  out: (s) => writeUnlessClosed(process.stdout, s),
  err: (s) => writeUnlessClosed(process.stderr, s),
};

const closed = new WeakSet<NodeJS.WriteStream>();
const guarded = new WeakSet<NodeJS.WriteStream>();

function writeUnlessClosed(stream: NodeJS.WriteStream, s: string): void {
  if (!guarded.has(stream)) {
    guarded.add(stream);
    // EPIPE, or any other failure of the stream itself: nothing more can be written to it.
    stream.on('error', () => closed.add(stream));
  }
  if (!closed.has(stream)) stream.write(s);
}
