/**
 * A real headless Chromium for tests that check a page as a person sees it: the page is loaded
 * from a file, laid out and styled, and read back through the DevTools protocol over
 * `--remote-debugging-pipe` (file descriptors 3 and 4, NUL-separated JSON; no WebSocket, no port).
 *
 * When chromium is missing: in CI (process.env.CI set) that is a failure; elsewhere the tests skip
 * with a loud message (as for rsyslogd, test/helpers/rsyslog.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { waitFor } from './wait.js';

export const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];

export function findChromium(): string | undefined {
  for (const p of CHROMIUM_CANDIDATES) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // the next one
    }
  }
  return undefined;
}

/** Whether the Chromium tests can run: throws in CI when it is missing, skips loudly elsewhere. */
export function chromiumAvailable(): boolean {
  if (findChromium()) return true;
  const msg = `chromium not found (looked in ${CHROMIUM_CANDIDATES.join(', ')})`;
  if (process.env['CI']) throw new Error(`${msg}: CI must install chromium`);
  process.stderr.write(`\n*** SKIPPING Chromium tests: ${msg}. Install chromium to run them. ***\n\n`);
  return false;
}

interface Reply {
  id?: number;
  result?: Record<string, unknown>;
  error?: { message: string };
}

/**
 * Loads `file` in headless Chromium and returns the values of `expressions` evaluated in the page
 * once it has loaded (e.g. `document.body.innerText`), each as JSON-compatible data.
 */
export async function renderAndEvaluate(
  file: string,
  expressions: string[],
  timeoutMs = 60_000,
): Promise<unknown[]> {
  const bin = findChromium();
  if (!bin) throw new Error('chromium not found');
  const profile = mkdtempSync(join(tmpdir(), 'fim-chromium-'));
  const child: ChildProcess = spawn(
    bin,
    [
      '--headless=new',
      '--no-sandbox', // tests run as root, where Chromium's sandbox refuses to start
      '--disable-gpu',
      '--no-first-run',
      '--disable-extensions',
      `--user-data-dir=${profile}`,
      '--remote-debugging-pipe',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  const replies = new Map<number, Reply>();
  const events: { method: string; sessionId?: string }[] = [];
  let buf = '';
  fromBrowser.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (let i = buf.indexOf('\0'); i >= 0; i = buf.indexOf('\0')) {
      const msg = JSON.parse(buf.slice(0, i)) as Reply & { method?: string; sessionId?: string };
      buf = buf.slice(i + 1);
      if (msg.id !== undefined) replies.set(msg.id, msg);
      else if (msg.method)
        events.push({ method: msg.method, ...(msg.sessionId ? { sessionId: msg.sessionId } : {}) });
    }
  });
  let next = 1;
  const send = async (
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> => {
    const id = next++;
    toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    const r = await waitFor(() => replies.get(id), { what: `chromium's reply to ${method}`, timeoutMs });
    if (r.error) throw new Error(`chromium ${method}: ${r.error.message}`);
    return r.result ?? {};
  };
  try {
    const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as {
      sessionId: string;
    };
    await send('Page.enable', {}, sessionId);
    await send('Page.navigate', { url: pathToFileURL(file).href }, sessionId);
    await waitFor(() => events.some((e) => e.method === 'Page.loadEventFired' && e.sessionId === sessionId), {
      what: 'the page to load in chromium',
      timeoutMs,
    });
    const out: unknown[] = [];
    for (const expression of expressions) {
      const r = (await send('Runtime.evaluate', { expression, returnByValue: true }, sessionId)) as {
        result?: { value?: unknown };
        exceptionDetails?: unknown;
      };
      if (r.exceptionDetails)
        throw new Error(`chromium: ${expression} threw ${JSON.stringify(r.exceptionDetails)}`);
      out.push(r.result?.value);
    }
    return out;
  } catch (err) {
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}; chromium said: ${stderr.slice(-2000)}`,
      {
        cause: err,
      },
    );
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null) {
      toBrowser.write(`${JSON.stringify({ id: next++, method: 'Browser.close', params: {} })}\0`);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(profile, { recursive: true, force: true });
  }
}
