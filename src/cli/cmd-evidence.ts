import { createReadStream } from 'node:fs';
import { UsageError } from '../errors.js';
import { generateKeys, readPublicKeyFile } from '../keys/index.js';
import { parseDuration } from '../policy/yaml-source.js';
import {
  createVerifier,
  formatProblem,
  formatVerifyReport,
  problemsFound,
  verifyStream,
} from '../verify/index.js';
import { type CommonOptions, loadConfig, type Output } from './context.js';

export async function keygenCommand(
  o: CommonOptions & { force?: boolean; epochs?: string; epochLength?: string },
  io: Output,
): Promise<number> {
  const cfg = loadConfig(o);
  const epochMs = o.epochLength !== undefined ? parseDuration(o.epochLength) : cfg.keyEpochMs;
  if (epochMs === undefined || epochMs < 100)
    throw new UsageError('--epoch-length must be a duration such as 1h or 30s');
  const epochs = o.epochs !== undefined ? Number(o.epochs) : undefined;
  if (epochs !== undefined && (!Number.isInteger(epochs) || epochs < 1))
    throw new UsageError('--epochs must be a positive integer');
  const r = generateKeys({
    dir: cfg.keys,
    host: cfg.host,
    epochSeconds: epochMs / 1000,
    ...(epochs !== undefined ? { epochs } : {}),
    force: o.force ?? false,
  });
  if (o.json)
    io.out(`${JSON.stringify({ host: cfg.host, pubkey: r.pubPath, fingerprint: r.fingerprint })}\n`);
  else {
    io.out(`keys for ${cfg.host} written to ${cfg.keys} (the master private key was never stored)\n`);
    io.out(`enrol this public key on the log server: ${r.pubPath}\n`);
    io.out(`fingerprint: ${r.fingerprint}\n`);
  }
  return 0;
}

export async function verifyLogCommand(
  file: string,
  o: { pubkey?: string[]; json?: boolean; maxSilence?: string; skew?: string; quiet?: boolean },
  io: Output,
): Promise<number> {
  const pubs = o.pubkey ?? [];
  if (pubs.length === 0) throw new UsageError('give the enrolled public key of each host with --pubkey FILE');
  const maxSilenceMs = o.maxSilence !== undefined ? parseDuration(o.maxSilence) : undefined;
  if (o.maxSilence !== undefined && maxSilenceMs === undefined)
    throw new UsageError('--max-silence must be a duration such as 5m');
  const skewMs = o.skew !== undefined ? parseDuration(o.skew) : undefined;
  if (o.skew !== undefined && skewMs === undefined)
    throw new UsageError('--skew must be a duration such as 120s');
  const verifier = createVerifier({
    pubkeys: pubs.map((p) => readPublicKeyFile(p)),
    ...(maxSilenceMs !== undefined ? { maxSilenceMs } : {}),
    ...(skewMs !== undefined ? { skewMs } : {}),
  });
  const live = file === '-';
  const input = live ? process.stdin : createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    if (live) resolve();
    else {
      input.once('open', () => resolve());
      input.once('error', (err: Error) => reject(new UsageError(`cannot read ${file}: ${err.message}`)));
    }
  });
  await opened;
  // Live (omprog): one line per problem as soon as it is found, nothing while all is well.
  const report = await verifyStream(input, verifier, {
    ...(live && !o.json ? { onProblem: (p) => io.out(`${formatProblem(p)}\n`) } : {}),
    ...(live && maxSilenceMs ? { tickMs: Math.min(maxSilenceMs, 60_000) } : {}),
  });
  if (o.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else if (live) io.err(formatVerifyReport(report));
  else if (!o.quiet || problemsFound(report)) io.out(formatVerifyReport(report));
  return problemsFound(report) ? 1 : 0;
}
