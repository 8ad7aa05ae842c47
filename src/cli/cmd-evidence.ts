import { eraseEndedEpochs, keygen, rotateKeys } from '../api/keygen.js';
import { verifyLog } from '../api/verify-log.js';
import { ExitCode, UsageError } from '../errors.js';
import { parseDuration } from '../policy/yaml-source.js';
import { formatProblem, formatVerifyReport, problemsFound } from '../verify/index.js';
import { type CommonOptions, type Output, sessionOf } from './context.js';

export async function keygenCommand(
  o: CommonOptions & {
    force?: boolean;
    rotate?: boolean;
    erase?: boolean;
    epochs?: string;
    epochLength?: string;
  },
  io: Output,
): Promise<number> {
  if (o.erase) {
    if (o.force || o.rotate || o.epochs !== undefined || o.epochLength !== undefined)
      throw new UsageError('--erase takes no other keygen option: it only erases ended epochs');
    const r = eraseEndedEpochs(sessionOf(o));
    const expires = new Date(r.expiresMs).toISOString();
    if (o.json) io.out(`${JSON.stringify({ host: r.host, erased: r.erased, held: r.held, expires })}\n`);
    else if (!o.quiet)
      io.out(
        `${r.erased} ended epoch key(s) erased in ${r.dir}; ${r.held} held; the keys end at ${expires}\n`,
      );
    return ExitCode.ok;
  }
  const epochMs = o.epochLength !== undefined ? parseDuration(o.epochLength) : undefined;
  if (o.epochLength !== undefined && (epochMs === undefined || epochMs < 100))
    throw new UsageError('--epoch-length must be a duration such as 1h or 30s');
  const epochs = o.epochs !== undefined ? Number(o.epochs) : undefined;
  if (epochs !== undefined && (!Number.isInteger(epochs) || epochs < 1))
    throw new UsageError('--epochs must be a positive integer');
  if (o.rotate && o.force)
    throw new UsageError(
      '--rotate and --force exclude each other: --rotate keeps the log server following, --force does not',
    );
  const opts = {
    ...sessionOf(o),
    ...(epochMs !== undefined ? { epochMs } : {}),
    ...(epochs !== undefined ? { epochs } : {}),
  };
  if (o.rotate) {
    const r = await rotateKeys(opts);
    if (o.json)
      io.out(
        `${JSON.stringify({ host: r.host, pubkey: r.pubPath, fingerprint: r.fingerprint, previous: r.previousFingerprint, handoverSent: r.handoverSent, resigned: r.resigned })}\n`,
      );
    else if (!o.quiet) {
      io.out(
        `keys for ${r.host} rotated: ${r.previousFingerprint} -> ${r.fingerprint} (the old set is erased)\n`,
      );
      io.out(
        r.handoverSent
          ? 'the handover, signed by the old keys, was sent: a log server enrolled with them follows\n'
          : `no syslog target: enrol ${r.pubPath} on the log server by hand\n`,
      );
      io.out(`${r.resigned} baseline(s) re-signed with the new keys\n`);
    }
    return ExitCode.ok;
  }
  const r = keygen({ ...opts, force: o.force ?? false });
  if (o.json) io.out(`${JSON.stringify({ host: r.host, pubkey: r.pubPath, fingerprint: r.fingerprint })}\n`);
  else if (!o.quiet) {
    io.out(`keys for ${r.host} written to ${r.dir} (the master private key was never stored)\n`);
    io.out(`enrol this public key on the log server: ${r.pubPath}\n`);
    io.out(`fingerprint: ${r.fingerprint}\n`);
  }
  return ExitCode.ok;
}

/** How long a live verifier whose input ended waits for rsyslog's SIGTERM before its summary. */
const SIGTERM_GRACE_MS = 1000;

export async function verifyLogCommand(
  file: string,
  o: {
    pubkey?: string[];
    keys?: string;
    json?: boolean;
    maxSilence?: string;
    skew?: string;
    state?: string;
    quiet?: boolean;
  },
  io: Output,
): Promise<number> {
  const maxSilenceMs = o.maxSilence !== undefined ? parseDuration(o.maxSilence) : undefined;
  if (o.maxSilence !== undefined && maxSilenceMs === undefined)
    throw new UsageError('--max-silence must be a duration such as 5m');
  const skewMs = o.skew !== undefined ? parseDuration(o.skew) : undefined;
  if (o.skew !== undefined && skewMs === undefined)
    throw new UsageError('--skew must be a duration such as 120s');
  const live = file === '-';
  // Live, rsyslog stops the verifier with SIGTERM (signalOnClose): keep the state and end quietly.
  const stopped = new AbortController();
  const onTerm = () => stopped.abort();
  if (live) process.once('SIGTERM', onTerm);
  // Live (omprog): one line per problem as soon as it is found, nothing while all is well.
  const report = await verifyLog(live ? process.stdin : file, {
    ...(live ? { signal: stopped.signal } : {}),
    pubkeys: o.pubkey ?? [],
    ...(o.keys !== undefined ? { keysDir: o.keys } : {}),
    ...(maxSilenceMs !== undefined ? { maxSilenceMs } : {}),
    ...(skewMs !== undefined ? { skewMs } : {}),
    ...(o.state !== undefined ? { state: o.state } : {}),
    ...(live && !o.json ? { onProblem: (p) => io.out(`${formatProblem(p)}\n`) } : {}),
    // Live, the tick checks silence and (with --state) keeps the state; every 10 s when no silence limit is set.
    ...(live && (maxSilenceMs || o.state !== undefined)
      ? { tickMs: Math.min(maxSilenceMs || 10_000, 60_000) }
      : {}),
  });
  if (live) {
    // rsyslog sends SIGTERM as it closes the pipe, and the end of input may be read first: a
    // summary printed then would become alerts. So the summary waits a moment for that signal.
    if (!stopped.signal.aborted)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, SIGTERM_GRACE_MS);
        const early = () => {
          clearTimeout(t);
          resolve();
        };
        stopped.signal.addEventListener('abort', early, { once: true });
      });
    process.removeListener('SIGTERM', onTerm);
  }
  // Stopped by rsyslog: nothing to print (omprog's output= file turns every line into an alert).
  if (report.interrupted || stopped.signal.aborted) return ExitCode.ok;
  if (o.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else if (live) io.err(formatVerifyReport(report));
  else if (!o.quiet || problemsFound(report)) io.out(formatVerifyReport(report));
  return problemsFound(report) ? ExitCode.verifyProblems : ExitCode.ok;
}
