/**
 * What every command shares: the common options, where output goes, and the option helpers. The
 * commands are thin adapters over the library API (src/api/), which loads configuration, policy
 * and database.
 */
import { writeSync } from 'node:fs';
import type { SessionOptions } from '../api/session.js';
import { errnoCode, UsageError } from '../errors.js';
import type { Output } from '../types.js';
import { isRawPlaceholder } from './raw-argv.js';

export interface CommonOptions {
  config?: string;
  policy?: string[];
  db?: string;
  json?: boolean;
  quiet?: boolean;
}

/** The session part of the common options: where configuration, policies and database come from. */
export function sessionOf(o: CommonOptions): SessionOptions {
  for (const [name, v] of [
    ['--config', o.config],
    ['--db', o.db],
    ...(o.policy ?? []).map((p) => ['--policy', p] as const),
  ] as const) {
    if (v !== undefined && isRawPlaceholder(v))
      throw new UsageError(
        `${name}: the file name is not valid UTF-8; give fim a name it can read as text (a symlink will do)`,
      );
  }
  return {
    ...(o.config !== undefined ? { config: o.config } : {}),
    ...(o.policy !== undefined ? { policy: o.policy } : {}),
    ...(o.db !== undefined ? { db: o.db } : {}),
    warn: (m) => stdio.err(`fim: ${m}\n`),
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

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * A writer to fd 1 that blocks until the reader has taken the bytes: for the streaming formats,
 * whose lines come out of a synchronous scan. process.stdout queues a write in memory when the pipe
 * is full, so a slow reader (`| ssh …`, a busy SIEM shipper) would make memory grow with the
 * findings; writing synchronously, and waiting on EAGAIN, is the backpressure. A reader that goes
 * away (EPIPE) ends the output quietly, as for `stdio`.
 */
export function blockingStdout(): (s: string) => void {
  let gone = false;
  return (s) => {
    if (gone) return;
    const buf = Buffer.from(s);
    let off = 0;
    while (off < buf.length) {
      try {
        off += writeSync(1, buf, off, buf.length - off);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 5);
        else {
          gone = true; // EPIPE or a closed descriptor: nothing more can be written
          return;
        }
      }
    }
  };
}
