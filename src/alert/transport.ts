/**
 * Transports for formatted messages. None of them ever throws or blocks the caller, and every
 * socket has an 'error' listener (an unhandled 'error' is what kills a process that uses
 * syslog-client): failures are counted and kept as `lastError`.
 *
 * - UDP: one message per datagram (RFC 5426), fire-and-forget.
 * - TCP and TLS: RFC 5425 octet counting (`LEN SP MSG`), messages go through an OutboundQueue and
 *   are acknowledged there once the socket has accepted the bytes; reconnect with exponential
 *   backoff while something waits. Bytes accepted by the kernel but lost with the connection are
 *   not re-sent (syslog over TCP has no application acks); verify-log reports such a gap.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP, isIPv6, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { OutboundQueue } from './queue.js';
import type { SyslogTarget } from './target.js';

export interface TransportStats {
  /** Messages handed to the network (datagrams sent, or stream bytes accepted). */
  sent: number;
  /** Socket, connection and send errors, swallowed. */
  errors: number;
  lastError?: string;
  /** Stream transports: connections made (the first and each reconnect). */
  connects: number;
  connected: boolean;
}

export interface Transport {
  send(msg: Buffer): void;
  /** Waits up to `timeoutMs` for pending messages to leave, then closes. Never rejects. */
  close(timeoutMs: number): Promise<void>;
  stats(): TransportStats;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Resolves when `done()` is true (checked on each `poke`) or after the timeout. */
function waitUntil(
  done: () => boolean,
  timeoutMs: number,
  register: (poke: () => void) => void,
): Promise<void> {
  return new Promise((resolve) => {
    if (done()) return resolve();
    const timer = setTimeout(resolve, timeoutMs);
    register(() => {
      if (done()) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

export class UdpTransport implements Transport {
  private readonly socket: UdpSocket;
  private readonly target: SyslogTarget;
  private pending = 0;
  private closed = false;
  private poke: (() => void) | undefined;
  private readonly st: TransportStats = { sent: 0, errors: 0, connects: 0, connected: true };

  constructor(target: SyslogTarget) {
    this.target = target;
    this.socket = createSocket(isIPv6(target.host) ? 'udp6' : 'udp4');
    this.socket.on('error', (err) => this.fail(err));
    // An idle alert socket must not keep a one-shot command alive.
    this.socket.unref();
  }

  private fail(err: unknown): void {
    this.st.errors++;
    this.st.lastError = describe(err);
  }

  send(msg: Buffer): void {
    if (this.closed) {
      this.fail(new Error('transport closed'));
      return;
    }
    this.pending++;
    try {
      this.socket.send(msg, this.target.port, this.target.host, (err) => {
        this.pending--;
        if (err) this.fail(err);
        else this.st.sent++;
        this.poke?.();
      });
    } catch (err: unknown) {
      this.pending--;
      this.fail(err);
    }
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    await waitUntil(
      () => this.pending === 0,
      timeoutMs,
      (p) => {
        this.poke = p;
      },
    );
    this.closed = true;
    this.st.connected = false;
    try {
      this.socket.close();
    } catch {
      // Already closed after an error: nothing left to release.
    }
  }

  stats(): TransportStats {
    return { ...this.st };
  }
}

export interface StreamOptions {
  /** TLS options (CA, client certificate...) for tls:// targets. */
  tls?: ConnectionOptions;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Messages per write. */
  batch?: number;
}

export class StreamTransport implements Transport {
  private readonly target: SyslogTarget;
  private readonly queue: OutboundQueue;
  private readonly opts: Required<Omit<StreamOptions, 'tls'>> & { tls?: ConnectionOptions };
  private socket: Socket | undefined;
  private connected = false;
  private writing = false;
  private closing = false;
  private backoff: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private poke: (() => void) | undefined;
  private readonly st: TransportStats = { sent: 0, errors: 0, connects: 0, connected: false };

  constructor(target: SyslogTarget, queue: OutboundQueue, opts: StreamOptions = {}) {
    this.target = target;
    this.queue = queue;
    this.opts = {
      backoffMinMs: opts.backoffMinMs ?? 250,
      backoffMaxMs: opts.backoffMaxMs ?? 30_000,
      batch: opts.batch ?? 64,
      ...(opts.tls ? { tls: opts.tls } : {}),
    };
    this.backoff = this.opts.backoffMinMs;
    // Messages left in a persistent queue by an earlier run go out first.
    if (this.queue.peek(1).length > 0) queueMicrotask(() => this.pump());
  }

  private fail(err: unknown): void {
    this.st.errors++;
    this.st.lastError = describe(err);
  }

  send(msg: Buffer): void {
    this.queue.push(msg);
    this.pump();
  }

  private connect(): void {
    if (this.socket || this.closing) return;
    const { host, port, protocol } = this.target;
    let sock: Socket;
    try {
      if (protocol === 'tls') {
        sock = tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...this.opts.tls });
      } else {
        sock = netConnect({ host, port });
      }
    } catch (err: unknown) {
      this.fail(err);
      this.scheduleRetry();
      return;
    }
    this.socket = sock;
    sock.unref();
    sock.setKeepAlive(true, 60_000);
    sock.on('error', (err) => this.fail(err));
    sock.on(protocol === 'tls' ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      this.st.connected = true;
      this.st.connects++;
      this.backoff = this.opts.backoffMinMs;
      this.pump();
    });
    // The server may send nothing we need; reading keeps the socket from filling its buffers.
    sock.on('data', () => {});
    sock.on('close', () => {
      this.socket = undefined;
      this.connected = false;
      this.st.connected = false;
      this.writing = false;
      // After close() the queue's backing store may be gone (the CLI closes its database).
      if (this.closing) return;
      if (this.queue.peek(1).length > 0) this.scheduleRetry();
      this.poke?.();
    });
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closing) return;
    // Jitter, so a fleet of hosts does not reconnect in lockstep after a log server restart.
    const delay = this.backoff * (0.75 + Math.random() / 2);
    this.backoff = Math.min(this.backoff * 2, this.opts.backoffMaxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private pump(): void {
    if (!this.connected) {
      if (!this.retryTimer) this.connect();
      return;
    }
    if (this.writing || !this.socket) return;
    const batch = this.queue.peek(this.opts.batch);
    if (batch.length === 0) {
      this.poke?.();
      return;
    }
    const frames = Buffer.concat(batch.flatMap((m) => [Buffer.from(`${m.msg.length} `, 'ascii'), m.msg]));
    this.writing = true;
    const sock = this.socket;
    sock.write(frames, (err) => {
      if (sock !== this.socket) return;
      this.writing = false;
      if (err) {
        this.fail(err);
        return;
      }
      for (const m of batch) this.queue.ack(m.id);
      this.st.sent += batch.length;
      this.pump();
    });
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.queue.peek(1).length > 0) this.pump();
    await waitUntil(
      () => this.queue.peek(1).length === 0 && !this.writing,
      timeoutMs,
      (p) => {
        this.poke = p;
      },
    );
    this.closing = true;
    this.poke = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const sock = this.socket;
    if (sock) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          sock.destroy();
          resolve();
        }, 1000);
        sock.end(() => {
          clearTimeout(t);
          resolve();
        });
      });
      sock.destroy();
    }
    this.connected = false;
    this.st.connected = false;
  }

  stats(): TransportStats {
    return { ...this.st };
  }
}

export function createTransport(
  target: SyslogTarget,
  queue: OutboundQueue,
  opts: StreamOptions = {},
): Transport {
  return target.protocol === 'udp' ? new UdpTransport(target) : new StreamTransport(target, queue, opts);
}
