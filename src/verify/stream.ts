/**
 * Line-by-line driving of a verifier from a stream: a stored file, or standard input when rsyslog
 * runs verify-log as an `omprog` program. Each problem is handed to `onProblem` as soon as it is
 * found (the CLI prints and flushes it), so a log server learns of a forgery while it happens.
 */

import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Problem, Verifier, VerifyReport } from './verifier.js';

export interface VerifyStreamOptions {
  onProblem?: (p: Problem) => void;
  /** While streaming, check for silence this often (ms); 0 or absent: only at the end. */
  tickMs?: number;
}

export async function verifyStream(
  input: Readable,
  verifier: Verifier,
  opts: VerifyStreamOptions = {},
): Promise<VerifyReport> {
  const emit = (ps: Problem[]) => {
    if (opts.onProblem) for (const p of ps) opts.onProblem(p);
  };
  const timer =
    opts.tickMs && opts.tickMs > 0 ? setInterval(() => emit(verifier.tick()), opts.tickMs) : undefined;
  timer?.unref();
  try {
    const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of rl) emit(verifier.feedLine(line));
  } finally {
    if (timer) clearInterval(timer);
  }
  return verifier.finish();
}
