/**
 * A real rsyslogd for tests: its own config, pid file and work directory, imudp on a free
 * 127.0.0.1 port, everything written with RSYSLOG_SyslogProtocol23Format to one file. No imuxsock
 * or imklog: it never touches the system log. Readiness is proven by probe datagrams appearing in
 * the file, never by a fixed sleep.
 *
 * When rsyslogd is missing: in CI (process.env.CI set) that is a failure; elsewhere the tests skip
 * with a loud message.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { delay, waitFor } from './wait.js';

export const RSYSLOGD_CANDIDATES = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd', '/usr/local/sbin/rsyslogd'];
/** App name of readiness probes: `lines()` leaves them out. */
export const PROBE_APP = 'fim-test-probe';

export function findRsyslogd(): string | undefined {
  for (const p of RSYSLOGD_CANDIDATES) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // try the next place
    }
  }
  return undefined;
}

/**
 * Whether the rsyslog tests can run. Throws in CI when rsyslogd is missing; prints a loud notice
 * and returns false elsewhere. Use with `describe.skipIf(!rsyslogAvailable())`.
 */
export function rsyslogAvailable(): boolean {
  if (findRsyslogd()) return true;
  const msg = `rsyslogd not found (looked in ${RSYSLOGD_CANDIDATES.join(', ')})`;
  if (process.env['CI']) throw new Error(`${msg}: CI must install rsyslog`);
  process.stderr.write(`\n*** SKIPPING rsyslog tests: ${msg}. Install rsyslog to run them. ***\n\n`);
  return false;
}

/** A free UDP port on 127.0.0.1 (bound, read, released: a small race that the retry below covers). */
export async function freeUdpPort(): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = sock.address();
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  return port;
}

export interface Rsyslog {
  port: number;
  dir: string;
  logFile: string;
  /** Stored lines, probes left out. */
  lines(): string[];
  /** Raw text of the log file. */
  text(): string;
  /** Polls the file until `predicate(lines)` holds; throws with the file's content after the timeout. */
  waitFor(predicate: (lines: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  /** Sends a raw datagram to rsyslog. */
  sendRaw(msg: string | Buffer): Promise<void>;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no TCP port');
  return addr.port;
}

/** One datagram to 127.0.0.1:`port`. */
export async function sendDatagram(port: number, msg: string | Buffer): Promise<void> {
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) =>
      sock.send(msg, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
    );
  } finally {
    sock.close();
  }
}

/**
 * `text` with every `from` replaced by `to`, requiring at least one: a test that adapts a shipped
 * or documented configuration must fail when that text no longer says what it adapts.
 */
export function replaceRequired(text: string, from: string, to: string, what = 'configuration'): string {
  if (!text.includes(from)) throw new Error(`the ${what} no longer contains ${JSON.stringify(from)}`);
  return text.replaceAll(from, to);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export interface RsyslogProcess {
  pid: number | undefined;
  /** undefined while running, else the exit code (null when killed by a signal). */
  exitCode(): number | null | undefined;
  /** What rsyslogd printed on stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL after `killAfterMs`; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Runs `rsyslogd -n -f CONF -i PIDFILE` in the foreground, collecting its output. */
export function spawnRsyslogd(
  bin: string,
  conf: string,
  pidFile: string,
  killAfterMs: number,
): RsyslogProcess {
  const child: ChildProcess = spawn(bin, ['-n', '-f', conf, '-i', pidFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  let exited: number | null | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exited = code;
      resolve();
    });
  });
  return {
    pid: child.pid,
    exitCode: () => exited,
    output: () => output,
    stop: async () => {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      await exitPromise;
      clearTimeout(t);
    },
  };
}

/** Starts rsyslogd in `dir` (a fresh temp directory). */
export async function startRsyslog(dir: string, opts: { timeoutMs?: number } = {}): Promise<Rsyslog> {
  const bin = findRsyslogd();
  if (!bin) throw new Error('rsyslogd not found');
  const timeoutMs = opts.timeoutMs ?? 15_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await startOnce(bin, dir, attempt, timeoutMs);
    } catch (err: unknown) {
      // The free port may have been taken between our probe and rsyslog's bind: try another.
      if (attempt >= 2) throw err;
    }
  }
}

async function startOnce(bin: string, base: string, attempt: number, timeoutMs: number): Promise<Rsyslog> {
  const dir = join(base, `rsyslog-${attempt}`);
  const work = join(dir, 'work');
  mkdirSync(work, { recursive: true });
  const port = await freeUdpPort();
  const logFile = join(dir, 'messages.log');
  const conf = join(dir, 'rsyslog.conf');
  const pidFile = join(dir, 'rsyslogd.pid');
  writeFileSync(
    conf,
    [
      `global(workDirectory="${work}" maxMessageSize="8k")`,
      // Only imudp: no imuxsock or imklog, so the test daemon never reads or writes the system log.
      'module(load="imudp")',
      `input(type="imudp" address="127.0.0.1" port="${port}" ruleset="fim")`,
      'ruleset(name="fim") {',
      `  action(type="omfile" file="${logFile}" template="RSYSLOG_SyslogProtocol23Format")`,
      '}',
      '',
    ].join('\n'),
  );
  const proc = spawnRsyslogd(bin, conf, pidFile, 5000);
  const { stop } = proc;

  const nonce = randomBytes(6).toString('hex');
  // Ready when a probe datagram comes out in the file (or rsyslogd exited: then it never will).
  const ready = await waitFor(
    async () => {
      if (proc.exitCode() !== undefined) return 'exited';
      await sendDatagram(port, `<14>1 - localhost ${PROBE_APP} - probe - probe-${nonce}`);
      await delay(25);
      return readText(logFile).includes(`probe-${nonce}`) ? 'ready' : undefined;
    },
    { what: `rsyslogd listening on 127.0.0.1:${port}`, timeoutMs, intervalMs: 0 },
  ).catch(() => 'timeout');
  if (ready !== 'ready') {
    await stop();
    throw new Error(
      `rsyslogd did not start listening on 127.0.0.1:${port} (exit ${proc.exitCode()}): ${proc.output()}`,
    );
  }

  const lines = () =>
    readText(logFile)
      .split('\n')
      .filter((l) => l !== '' && !l.includes(` ${PROBE_APP} `));
  return {
    port,
    dir,
    logFile,
    lines,
    text: () => readText(logFile),
    async waitFor(predicate, waitMs = 10_000) {
      try {
        return await waitFor(
          () => {
            const ls = lines();
            return predicate(ls) ? ls : undefined;
          },
          { what: 'rsyslog output', timeoutMs: waitMs },
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; have:\n${lines().join('\n')}`);
      }
    },
    sendRaw: (msg) => sendDatagram(port, msg),
    stop,
  };
}
