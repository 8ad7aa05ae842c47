/**
 * A real `fim watch` child process, with its stdout lines collected so tests can wait for events
 * (with timeouts, never fixed sleeps).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIM, fim, ROOT, type Sandbox } from './fim.js';

export interface DaemonHooks {
  /**
   * The daemon's `watchDelayMs` test hook: run it through test/fixtures/daemon-with-delay.mjs (the
   * built daemon, called with the option) instead of `bin/fim watch`. Takes `--config FILE` only.
   */
  watchDelayMs?: number;
  /** The daemon's `pauseThresholdMs` hook (through the same fixture; watchDelayMs defaults to 0). */
  pauseThresholdMs?: number;
  /**
   * A command that execs the daemon (e.g. `setpriv --bounding-set=-sys_admin`): the process keeps
   * its pid, so signals still reach the daemon.
   */
  wrapper?: string[];
}

const DELAY_FIXTURE = join(ROOT, 'test', 'fixtures', 'daemon-with-delay.mjs');

/**
 * A watching host in `sb.dir`: its fim.yaml (policy.yaml, fim.db and keys beside it, alerts over UDP
 * to `port` at up to 500 a second) and its keys made; returns the config's path. The watch settings
 * are the tests' quick ones (debounce 50 ms, heartbeat 1 s, full check 1 h, fallback scan 1 s) and
 * then `watch` (e.g. `backend: fanotify`); `extra` adds lines.
 */
export function watchHostConfig(
  sb: Sandbox,
  o: { host: string; port: number; watch?: string; extra?: string },
): string {
  const config = join(sb.dir, 'fim.yaml');
  writeFileSync(
    config,
    [
      `host: ${o.host}`,
      'policies: [policy.yaml]',
      'database: fim.db',
      'keys: keys',
      `syslog: { target: "udp://127.0.0.1:${o.port}", max_per_second: 500 }`,
      `watch: { debounce_ms: 50, heartbeat: 1s, full_check: 1h, fallback_scan: 1s${o.watch ? `, ${o.watch}` : ''} }`,
      o.extra ?? '',
      '',
    ].join('\n'),
  );
  const k = fim(['keygen', '--epochs', '24', '--config', config]);
  if (k.code !== 0) throw new Error(`keygen failed (${k.code}): ${k.stderr}`);
  return config;
}

export class DaemonProcess {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  readonly child: ChildProcessWithoutNullStreams;
  private waiters: (() => void)[] = [];
  exitCode: number | null = null;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}, hooks: DaemonHooks = {}) {
    const pause = hooks.pauseThresholdMs !== undefined ? [String(hooks.pauseThresholdMs)] : [];
    const argv =
      hooks.watchDelayMs !== undefined || hooks.pauseThresholdMs !== undefined
        ? [DELAY_FIXTURE, String(hooks.watchDelayMs ?? 0), ...args, ...pause]
        : [FIM, 'watch', ...args];
    const [cmd, ...pre] = hooks.wrapper ?? [];
    this.child =
      cmd === undefined
        ? spawn(process.execPath, argv, { env: { ...process.env, ...env } })
        : spawn(cmd, [...pre, process.execPath, ...argv], { env: { ...process.env, ...env } });
    let buf = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      this.lines.push(...parts);
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d: string) => this.stderr.push(d));
    this.child.on('exit', (code) => {
      this.exitCode = code;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Wait until a line (after index `from`) matches; returns it. */
  async waitFor(re: RegExp, timeoutMs = 5000, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => re.test(l));
      if (hit) return hit;
      if (this.exitCode !== null)
        throw new Error(`daemon exited (${this.exitCode}) before ${re}:\n${this.output()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re}:\n${this.output()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  ready(timeoutMs = 15_000): Promise<string> {
    return this.waitFor(/full check \(start\)/, timeoutMs);
  }

  output(): string {
    return `${this.lines.join('\n')}\n--- stderr ---\n${this.stderr.join('')}`;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    // Exited already (with a code, or killed by a signal: then exitCode stays null).
    if (this.exitCode !== null || this.child.exitCode !== null || this.child.signalCode !== null)
      return this.exitCode;
    const exited = once(this.child, 'exit');
    this.child.kill(signal);
    await exited;
    return this.exitCode;
  }
}
