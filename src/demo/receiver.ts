/**
 * The demo's log server: a real rsyslogd when one is installed (writing the format `fim verify-log`
 * reads in production), else a small in-process UDP receiver that stores each datagram as one raw
 * RFC 5424 line. Only ever on 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { accessSync, appendFileSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Receiver {
  kind: 'rsyslogd' | 'built-in';
  port: number;
  logFile: string;
  /** Lines stored so far that came from fim. */
  lines(): string[];
  waitFor(pred: (lines: string[]) => boolean, timeoutMs?: number): Promise<boolean>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes(' fim '));
  } catch {
    return [];
  }
}

function base(logFile: string, stop: () => Promise<void>, kind: Receiver['kind'], port: number): Receiver {
  return {
    kind,
    port,
    logFile,
    lines: () => readLines(logFile),
    async waitFor(pred, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        if (pred(readLines(logFile))) return true;
        await sleep(20);
      }
      return pred(readLines(logFile));
    },
    stop,
  };
}

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startBuiltIn(dir: string): Promise<Receiver> {
  const logFile = join(dir, 'received.log');
  writeFileSync(logFile, '');
  const sock = createSocket('udp4');
  sock.on('message', (msg) => appendFileSync(logFile, `${msg.toString('utf8').replace(/\n/g, ' ')}\n`));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const { port } = sock.address();
  return base(logFile, () => new Promise<void>((r) => sock.close(() => r())), 'built-in', port);
}

async function startRsyslogd(bin: string, dir: string): Promise<Receiver | null> {
  const work = join(dir, 'work');
  mkdirSync(work, { recursive: true });
  const port = await freePort();
  const logFile = join(dir, 'received.log');
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    [
      `global(workDirectory="${work}")`,
      'module(load="imudp")',
      `input(type="imudp" address="127.0.0.1" port="${port}" ruleset="fim")`,
      `ruleset(name="fim") { action(type="omfile" file="${logFile}" template="RSYSLOG_SyslogProtocol23Format") }`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(bin, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], {
    stdio: 'ignore',
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const stop = async () => {
    if (exited) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await gone;
  };
  // Ready when a probe datagram comes out in the file.
  const probe = createSocket('udp4');
  const end = Date.now() + 5000;
  let ready = false;
  while (!ready && !exited && Date.now() < end) {
    await new Promise<void>((r) =>
      probe.send('<14>1 - localhost fim-demo-probe - - - probe', port, '127.0.0.1', () => r()),
    );
    await sleep(30);
    try {
      ready = readFileSync(logFile, 'utf8').includes('probe');
    } catch {
      ready = false;
    }
  }
  probe.close();
  if (!ready) {
    await stop();
    return null;
  }
  return base(logFile, stop, 'rsyslogd', port);
}

export async function startReceiver(dir: string): Promise<Receiver> {
  // Both receivers write into `dir`: make it first (without rsyslog nothing else would).
  mkdirSync(dir, { recursive: true });
  for (const bin of ['/usr/sbin/rsyslogd', '/sbin/rsyslogd']) {
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      continue;
    }
    const r = await startRsyslogd(bin, dir);
    if (r) return r;
  }
  return startBuiltIn(dir);
}
