/**
 * `verifyLog()`: on the log server, verify a stream of stored fim alerts (a file, or rsyslog's
 * omprog pipe) against the enrolled public keys and return the report. With `state`, each host's
 * verification state is kept between runs in a SQLite file (store/verify-state.ts): a file read
 * before is read on from where the last run stopped (a rotated file, a new inode, from its start),
 * so rotated logs verify as one stream, a restarted verifier reports no false gap, and each final
 * problem is reported once. Standard input saves the state at each tick and at its end.
 */
import {
  closeSync,
  createReadStream,
  type FSWatcher,
  openSync,
  readdirSync,
  readSync,
  statSync,
  watch,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { errnoCode, StorageError, UsageError } from '../errors.js';
import { type EnrolledKey, parsePublicKeyFile, readPublicKeyFile } from '../keys/index.js';
import { type InputPosition, VerifyStateFile } from '../store/verify-state.js';
import {
  createVerifier,
  type Problem,
  SnapshotError,
  type Verifier,
  type VerifyReport,
  verifyStream,
} from '../verify/index.js';

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
  /** The state file (`--state`): per-host state kept between runs. */
  state?: string;
  /**
   * Standard input only: when aborted (rsyslog stopping the omprog program with SIGTERM), stop
   * reading, commit the lines already read, save the state as at a tick, and return a report
   * marked `interrupted` that judges nothing (no final gaps, no unended sessions: the stream is
   * not over, and the next verifier continues it).
   */
  signal?: AbortSignal;
}

/** Bytes of a file's start that identify it beside its inode (a file rewritten in place is new). */
const HEAD_BYTES = 256;

/** Verify `input`: a stream, or the path of a stored log file. */
export async function verifyLog(input: Readable | string, o: VerifyLogOptions): Promise<VerifyReport> {
  const files = [...o.pubkeys, ...(o.keysDir !== undefined ? pubFilesIn(o.keysDir) : [])];
  // Live with a keys directory, an empty one is a log server with no host enrolled yet: the
  // verifier runs, reports each message as an unknown host, and enrols keys as they are copied in.
  const enrolLater = o.keysDir !== undefined && typeof input !== 'string';
  if (files.length === 0 && !enrolLater)
    throw new UsageError(
      'give the enrolled public key of each host with --pubkey FILE, or a directory of them with --keys DIR',
    );
  const pubkeys = files.map((p) => readPublicKeyFile(p));
  const state = o.state !== undefined ? VerifyStateFile.open(o.state) : undefined;
  let watcher: FSWatcher | undefined;
  try {
    const saved = state?.load();
    // Key sets enrolled hosts handed over to in earlier runs are followed without a manual step.
    const enrolled = new Set(pubkeys.map((k) => k.host));
    for (const [host, texts] of state?.handovers() ?? [])
      if (enrolled.has(host))
        for (const t of texts)
          pubkeys.push(parsePublicKeyFile(t, `${o.state}: the key set host ${host} handed over to`));
    const source = typeof input === 'string' ? await openLog(input, state) : { stream: input };
    let verifier: Verifier;
    try {
      verifier = createVerifier({
        pubkeys,
        ...(o.maxSilenceMs !== undefined ? { maxSilenceMs: o.maxSilenceMs } : {}),
        ...(o.skewMs !== undefined ? { skewMs: o.skewMs } : {}),
        ...(saved ? { state: saved } : {}),
        ...(source.resume ? { linesBefore: source.resume.lines } : {}),
      });
    } catch (err) {
      if (err instanceof SnapshotError)
        throw new StorageError(`${o.state}: ${err.message}; move the file aside to start afresh`, {
          cause: err,
        });
      throw err;
    }
    const save = (report?: VerifyReport, changedOnly = false) => {
      if (!state) return;
      const { hosts, reported, handovers } = verifier.stateSnapshots({ changedOnly });
      const pos = source.position?.(report?.lines ?? 0);
      state.save({ hosts, reported }, report && pos ? pos : undefined, handovers);
    };
    // Live, a key enrolled into the --keys directory is used from its next message on.
    if (o.keysDir !== undefined && typeof input !== 'string') watcher = watchKeys(o.keysDir, verifier);
    const live = typeof input !== 'string';
    const interrupted = () => live && o.signal?.aborted === true;
    // Interrupted, the run ends without `finish`: it would judge an unfinished stream.
    let lines = 0;
    const driven: Verifier = {
      ...verifier,
      commit: (p, ok) => {
        lines++;
        return verifier.commit(p, ok);
      },
      finish: () => (interrupted() ? interruptedReport(lines) : verifier.finish()),
    };
    const report = await verifyStream(source.stream, driven, {
      ...(o.onProblem ? { onProblem: o.onProblem } : {}),
      ...(o.tickMs ? { tickMs: o.tickMs } : {}),
      ...(live && o.signal ? { signal: o.signal } : {}),
      // Live input has no end to wait for: keep the state as it goes.
      // Only the hosts that changed since: a fleet of 10,000 is not rewritten every minute.
      ...(state && typeof input !== 'string' ? { onTick: () => save(undefined, true) } : {}),
    });
    if (report.interrupted) save();
    else save(report);
    return report;
  } finally {
    watcher?.close();
    state?.close();
  }
}

/**
 * Re-reads a keys directory when it changes (debounced): new `*.pub` files are enrolled. A file
 * that does not parse yet (being copied in) is skipped until its next change.
 */
function watchKeys(dir: string, verifier: Verifier): FSWatcher | undefined {
  let timer: NodeJS.Timeout | undefined;
  const reread = () => {
    timer = undefined;
    let paths: string[];
    try {
      paths = pubFilesIn(dir);
    } catch {
      return; // gone for a moment (replaced by a deploy): the next change reads it again
    }
    const keys: EnrolledKey[] = [];
    for (const p of paths) {
      try {
        keys.push(readPublicKeyFile(p));
      } catch {
        // half-written: read again on its next change
      }
    }
    verifier.addKeys(keys);
  };
  try {
    const w = watch(dir, { persistent: false }, () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(reread, 200);
      timer.unref();
    });
    w.on('error', () => w.close());
    return w;
  } catch {
    return undefined;
  }
}

/** The `*.pub` files of a keys directory, in name order. */
export function pubFilesIn(dir: string): string[] {
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

interface LogSource {
  stream: Readable;
  /** Where an earlier run stopped reading this file (with --state). */
  resume?: { lines: number };
  /** Where this run stops reading, given the total lines read. */
  position?: (lines: number) => { name: string; pos: InputPosition };
}

/**
 * A stored log, read on from where the state says the last run stopped when it is the same file
 * (same device and inode, same first bytes, not shorter), and only up to its last whole line: a
 * line rsyslog is still writing is read by the next run.
 */
async function openLog(file: string, state: VerifyStateFile | undefined): Promise<LogSource> {
  let size: number;
  let dev: string;
  let ino: string;
  try {
    const st = statSync(file, { bigint: true });
    size = Number(st.size);
    dev = st.dev.toString();
    ino = st.ino.toString();
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${errnoCode(err) ?? String(err)}`);
  }
  if (!state) return { stream: await openStream(file, 0, size - 1) };
  const name = resolve(file);
  const head = readAt(file, 0, Math.min(HEAD_BYTES, size));
  const was = state.input(name);
  const same =
    was !== null &&
    was.dev === dev &&
    was.ino === ino &&
    size >= was.offset &&
    head.subarray(0, was.head.length).equals(was.head);
  const start = same ? was.offset : 0;
  const end = lastNewline(file, start, size);
  const stream = end < start ? Readable.from([]) : await openStream(file, start, end);
  return {
    stream,
    ...(same ? { resume: { lines: was.lines } } : {}),
    position: (lines) => ({
      name,
      pos: { dev, ino, offset: Math.max(end + 1, start), lines, head },
    }),
  };
}

function readAt(file: string, at: number, n: number): Buffer {
  const buf = Buffer.alloc(n);
  const fd = openSync(file, 'r');
  try {
    const got = readSync(fd, buf, 0, n, at);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** The offset of the last newline in [from, size), or from - 1 when there is none. */
function lastNewline(file: string, from: number, size: number): number {
  const CHUNK = 65_536;
  for (let hi = size; hi > from; hi -= CHUNK) {
    const lo = Math.max(from, hi - CHUNK);
    const i = readAt(file, lo, hi - lo).lastIndexOf(0x0a);
    if (i >= 0) return lo + i;
  }
  return from - 1;
}

function openStream(file: string, start: number, end: number): Promise<Readable> {
  if (end < start) return Promise.resolve(Readable.from([]));
  const s = createReadStream(file, { start, end });
  return new Promise((resolvePromise, reject) => {
    s.once('open', () => resolvePromise(s));
    s.once('error', (err: Error) => reject(new UsageError(`cannot read ${file}: ${err.message}`)));
  });
}

/** The report of a run stopped before its input ended: it judges nothing. */
function interruptedReport(lines: number): VerifyReport {
  return {
    version: 1,
    lines,
    malformed: 0,
    foreign: 0,
    unknownHosts: {},
    hosts: [],
    problems: [],
    problemCount: 0,
    problemsOmitted: 0,
    interrupted: true,
  };
}
