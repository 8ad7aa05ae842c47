/**
 * `verifyLog()`: on the log server, verify a stream of stored fim alerts (a file, or rsyslog's
 * omprog pipe) against the enrolled public keys and return the report.
 */
import { createReadStream, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { errnoCode, UsageError } from '../errors.js';
import { readPublicKeyFile } from '../keys/index.js';
import { createVerifier, type Problem, type VerifyReport, verifyStream } from '../verify/index.js';

export interface VerifyLogOptions {
  /** Enrolled public key files, one or more per host (`<keys>/<host>.pub`). */
  pubkeys: string[];
  /** A directory of enrolled public key files: every `*.pub` in it (several per host allowed). */
  keysDir?: string;
  /** A host silent for longer than this at the end is a problem; 0 disables. */
  maxSilenceMs?: number;
  /** Allowed clock skew between a message's time and its key epoch. */
  skewMs?: number;
  /** Called for each problem as soon as it is found (live verification). */
  onProblem?: (p: Problem) => void;
  /** While streaming, check for silence this often (ms). */
  tickMs?: number;
}

/** Verify `input`: a stream, or the path of a stored log file. */
export async function verifyLog(input: Readable | string, o: VerifyLogOptions): Promise<VerifyReport> {
  const files = [...o.pubkeys, ...(o.keysDir !== undefined ? pubFilesIn(o.keysDir) : [])];
  if (files.length === 0)
    throw new UsageError(
      'give the enrolled public key of each host with --pubkey FILE, or a directory of them with --keys DIR',
    );
  const verifier = createVerifier({
    pubkeys: files.map((p) => readPublicKeyFile(p)),
    ...(o.maxSilenceMs !== undefined ? { maxSilenceMs: o.maxSilenceMs } : {}),
    ...(o.skewMs !== undefined ? { skewMs: o.skewMs } : {}),
  });
  const stream = typeof input === 'string' ? await openLog(input) : input;
  return verifyStream(stream, verifier, {
    ...(o.onProblem ? { onProblem: o.onProblem } : {}),
    ...(o.tickMs ? { tickMs: o.tickMs } : {}),
  });
}

/** The `*.pub` files of a keys directory, in name order. */
function pubFilesIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new UsageError(`--keys ${dir}: cannot list the directory (${errnoCode(err) ?? String(err)})`);
  }
  return names
    .filter((n) => n.endsWith('.pub') && !n.startsWith('.'))
    .sort()
    .map((n) => join(dir, n));
}

function openLog(file: string): Promise<Readable> {
  const s = createReadStream(file);
  return new Promise((resolve, reject) => {
    s.once('open', () => resolve(s));
    s.once('error', (err: Error) => reject(new UsageError(`cannot read ${file}: ${err.message}`)));
  });
}
