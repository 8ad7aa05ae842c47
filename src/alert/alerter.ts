/**
 * The alerter: numbers, signs, paces and sends events. One alerter is one session: a random session
 * id, and a sequence number that grows by one per message sent, so the log server can see loss,
 * replays and restarts. It never throws from `send` and never blocks: a failure to sign or send is
 * counted in `stats()` (and reported through `onError`), because alerting must not take the
 * monitor down with it.
 *
 * Pacing: at most `maxPerSecond` messages per one-second window. Findings and error events beyond
 * that are held back (they are in the local journal already) and summarised by one `flood`
 * message when the window ends. Lifecycle events (start, stop, heartbeat, summary, baseline,
 * accept) are never held back: the log server needs them to judge the rest. Held-back messages
 * use no sequence number, so they are not gaps.
 *
 * Framing: every session begins with a `start` (sent implicitly before the first other event, or
 * the caller's own) and ends with a `stop` carrying the session's message count (close() sends
 * one when the caller did not). With a `chain` (the host's database), the start names the
 * session before it (its id, last sequence number and last message digest), and each message
 * moves this session's head in the same transaction as it is handed to the transport: a session
 * deleted or cut short on the log server is then visible from the next one.
 */
import { randomBytes } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { SignerSource } from '../keys/index.js';
import type { AlertEvent, ChainLink, FloodEvent, WireEvent } from './events.js';
import { FACILITIES, type Facility, formatSealed, isFacility, MAX_MESSAGE_BYTES } from './format.js';
import { MemoryQueue, type OutboundQueue } from './queue.js';
import { parseTarget, type SyslogTarget } from './target.js';
import { createTransport, type StreamOptions, type Transport } from './transport.js';

export const DEFAULT_MAX_PER_SECOND = 50;
export const DEFAULT_APP_NAME = 'fim';

/**
 * Where a host keeps its chain of sessions (the database: store/chain.ts). Both calls are one
 * transaction each and may throw; the alerter reports the failure and still sends.
 */
export interface SessionChain {
  /** Makes `sid` the host's newest session and returns the one before it (null: the first ever). */
  open(sid: string, kind: string, tNs: bigint): ChainLink | null;
  /** Records message `seq` (its digest) as the session's last, and runs `send` in the same transaction. */
  advance(sid: string, seq: number, digest: string, send: () => void): void;
}

/** The kind of the daemon's sessions; one-shot commands name themselves (check, baseline, accept). */
export const DAEMON_KIND = 'watch';

export interface AlerterOptions {
  /** The session's kind: DAEMON_KIND or the one-shot command's name (default 'command'). */
  kind?: string;
  /** The host's chain of sessions; without it a start names no predecessor. */
  chain?: SessionChain;
  /** `udp://host[:port]`, `tcp://...`, `tls://...`, or a parsed target. */
  target: string | SyslogTarget;
  /** Syslog facility name or number (default authpriv). */
  facility?: Facility | number;
  maxPerSecond?: number;
  host: string;
  appName?: string;
  signer: SignerSource;
  /** Queue for TCP/TLS (default: a MemoryQueue of 10,000 messages). */
  queue?: OutboundQueue;
  tls?: StreamOptions['tls'];
  stream?: Omit<StreamOptions, 'tls'>;
  /** Clock in nanoseconds since the Unix epoch (tests). */
  now?: () => bigint;
  /** A transport to use instead of the one the target names (tests). */
  transport?: Transport;
  /** Called for every swallowed failure (signing, sending). */
  onError?: (err: unknown) => void;
  maxBytes?: number;
}

export interface AlerterStats {
  sessionId: string;
  /** Last sequence number used (0 before the first message). */
  seq: number;
  /** Messages formatted, signed and handed to the transport. */
  sent: number;
  /** Messages held back by pacing, in total. */
  suppressed: number;
  /** Flood summaries sent. */
  floods: number;
  /** Events that could not be signed (keys expired or erased...). */
  signErrors: number;
  transport: ReturnType<Transport['stats']>;
  lastError?: string;
}

export interface Alerter {
  readonly sessionId: string;
  /** Sends an event; false when it was held back or failed (see stats). Never throws. */
  send(event: AlertEvent): boolean;
  /** Sends any pending flood summary and the stop (when not sent), waits for the transport (bounded), and closes. */
  close(timeoutMs?: number): Promise<void>;
  /** Stops writing the chain (the database is no longer ours); messages still go out. */
  unchain(): void;
  stats(): AlerterStats;
}

function resolveFacility(f: Facility | number | undefined): number {
  if (f === undefined) return FACILITIES.authpriv;
  if (typeof f === 'number') {
    if (!Number.isInteger(f) || f < 0 || f > 23) throw new UsageError(`syslog facility ${f} is not 0..23`);
    return f;
  }
  if (!isFacility(f)) throw new UsageError(`unknown syslog facility "${f}"`);
  return FACILITIES[f];
}

const PACED = new Set<AlertEvent['type']>(['finding', 'error']);

function wallClockNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export function createAlerter(opts: AlerterOptions): Alerter {
  const target = typeof opts.target === 'string' ? parseTarget(opts.target) : opts.target;
  const facility = resolveFacility(opts.facility);
  const maxPerSecond = opts.maxPerSecond ?? DEFAULT_MAX_PER_SECOND;
  if (!Number.isInteger(maxPerSecond) || maxPerSecond < 1) {
    throw new UsageError(`max_per_second must be a positive integer, got ${maxPerSecond}`);
  }
  const now = opts.now ?? wallClockNs;
  const queue = opts.queue ?? new MemoryQueue();
  const transport =
    opts.transport ??
    createTransport(target, queue, { ...opts.stream, ...(opts.tls ? { tls: opts.tls } : {}) });
  const sessionId = randomBytes(8).toString('hex');
  const app = opts.appName ?? DEFAULT_APP_NAME;
  const procId = String(process.pid);

  let seq = 0;
  let sent = 0;
  let suppressedTotal = 0;
  let floods = 0;
  let signErrors = 0;
  let lastError: string | undefined;
  let closed = false;
  let started = false;
  let stopped = false;
  let chain = opts.chain;
  const kind = opts.kind ?? 'command';

  let windowStartMs = -Infinity;
  let inWindow = 0;
  let held: Omit<FloodEvent, 'type'> | undefined;
  let floodTimer: NodeJS.Timeout | undefined;

  const report = (err: unknown) => {
    lastError = err instanceof Error ? err.message : String(err);
    try {
      opts.onError?.(err);
    } catch {
      // A failing error callback must not break alerting either.
    }
  };

  const emit = (ev: WireEvent, tNs: bigint): boolean => {
    try {
      const signer = opts.signer.currentSigner(Number(tNs / 1_000_000n));
      const sealed = formatSealed(ev, {
        host: opts.host,
        app,
        procId,
        facility,
        sessionId,
        seq: seq + 1,
        timeNs: tNs,
        signer,
        maxBytes: opts.maxBytes ?? MAX_MESSAGE_BYTES,
      });
      const n = seq + 1;
      if (chain) {
        try {
          chain.advance(sessionId, n, sealed.digest, () => transport.send(sealed.line));
        } catch (err: unknown) {
          // The chain could not be written: say so, and send anyway (the evidence must go out).
          report(err);
          transport.send(sealed.line);
        }
      } else transport.send(sealed.line);
      seq = n;
      sent++;
      return true;
    } catch (err: unknown) {
      signErrors++;
      report(err);
      return false;
    }
  };

  const flushFlood = () => {
    if (floodTimer) clearTimeout(floodTimer);
    floodTimer = undefined;
    if (!held) return;
    const ev: FloodEvent = { type: 'flood', ...held };
    held = undefined;
    if (emit(ev, now())) floods++;
  };

  /** Starts a new window when the current one is over; the flood summary opens the new one. */
  const roll = (tMs: number) => {
    if (tMs - windowStartMs < 1000) return;
    windowStartMs = tMs;
    inWindow = 0;
    if (held) {
      flushFlood();
      inWindow = 1;
    }
  };

  /** The session's start, with its kind and its predecessor, once. */
  const open = (ev: Extract<AlertEvent, { type: 'start' }>, tNs: bigint): boolean => {
    started = true;
    let prev: ChainLink | null | undefined;
    if (chain) {
      try {
        prev = chain.open(sessionId, kind, tNs);
      } catch (err: unknown) {
        report(err);
        prev = { sid: '?', seq: 0, digest: '?' };
      }
    }
    return emit({ ...ev, kind, ...(prev !== undefined ? { prev } : {}) }, tNs);
  };

  const stop = (reason: string): boolean => {
    flushFlood();
    stopped = true;
    return emit({ type: 'stop', reason, count: seq + 1 }, now());
  };

  return {
    sessionId,
    send(event: AlertEvent): boolean {
      if (closed || stopped) {
        report(new Error(closed ? 'alerter closed' : 'session stopped'));
        return false;
      }
      const tNs = now();
      if (event.type === 'start') {
        if (started) {
          report(new Error('session already started'));
          return false;
        }
        return open(event, tNs);
      }
      if (!started) open({ type: 'start', baselineRoot: null, policyHash: '-' }, tNs);
      if (event.type === 'stop') return stop(event.reason);
      roll(Number(tNs / 1_000_000n));
      if (PACED.has(event.type) && inWindow >= maxPerSecond) {
        held ??= { suppressed: 0, findings: 0, others: 0, sinceNs: tNs };
        held.suppressed++;
        suppressedTotal++;
        if (event.type === 'finding') {
          held.findings++;
          held.firstJournalId ??= event.journalId;
          held.lastJournalId = event.journalId;
        } else {
          held.others++;
        }
        if (!floodTimer) {
          const wait = Math.max(0, windowStartMs + 1000 - Number(tNs / 1_000_000n));
          floodTimer = setTimeout(() => {
            floodTimer = undefined;
            roll(Number(now() / 1_000_000n));
          }, wait);
          floodTimer.unref();
        }
        return false;
      }
      inWindow++;
      return emit(event, tNs);
    },
    async close(timeoutMs = 2000): Promise<void> {
      if (closed) return;
      if (!started) open({ type: 'start', baselineRoot: null, policyHash: '-' }, now());
      if (!stopped) stop('done');
      closed = true;
      await transport.close(timeoutMs);
    },
    unchain(): void {
      chain = undefined;
    },
    stats(): AlerterStats {
      return {
        sessionId,
        seq,
        sent,
        suppressed: suppressedTotal,
        floods,
        signErrors,
        transport: transport.stats(),
        ...(lastError !== undefined ? { lastError } : {}),
      };
    },
  };
}
