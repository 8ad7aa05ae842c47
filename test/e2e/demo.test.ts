/**
 * `fim demo`, the README's first command, on both kinds of machine a newcomer has: one with
 * rsyslog (the demo's log server is a real rsyslogd) and one without (the built-in receiver). The
 * second hides rsyslogd in a private mount namespace (a tmpfs over the directories it lives in),
 * so this machine's rsyslog cannot make the test pass by accident.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIM } from '../helpers/fim.js';
import { RSYSLOGD_CANDIDATES, rsyslogAvailable } from '../helpers/rsyslog.js';

/** Directories to cover so that no rsyslogd candidate is visible (a symlinked /sbin follows /usr/sbin). */
function rsyslogDirs(): string[] {
  const dirs = new Set<string>();
  for (const c of RSYSLOGD_CANDIDATES) {
    const dir = c.slice(0, c.lastIndexOf('/'));
    try {
      if (lstatSync(dir).isDirectory()) dirs.add(dir);
    } catch {
      // not on this machine: nothing to hide
    }
  }
  return [...dirs];
}

function expectCompleteDemo(r: ReturnType<typeof spawnSync>): string {
  const out = `${String(r.stdout)}\n${String(r.stderr)}`;
  expect(r.status, out).toBe(0);
  expect(String(r.stdout)).toContain('Demo complete.');
  expect(out).not.toContain('internal error');
  expect(out).not.toMatch(/\n\s+at /); // no stack trace
  // The loop really ran: the check found the intruder, the log server verified, then saw the gap.
  expect(String(r.stdout)).toContain('exit status 5');
  expect(String(r.stdout)).toMatch(/gap|missing/i);
  return String(r.stdout);
}

describe('fim demo (the README quick start)', () => {
  it.runIf(rsyslogAvailable())('runs the whole loop against a real rsyslogd', () => {
    const r = spawnSync(process.execPath, [FIM, 'demo'], { encoding: 'utf8', timeout: 120_000 });
    const out = expectCompleteDemo(r);
    expect(out).toMatch(/rsyslogd on udp:\/\/127\.0\.0\.1:\d+/);
  });

  it('runs the whole loop on a machine without rsyslog (built-in receiver)', () => {
    const mounts = rsyslogDirs()
      .map((d) => `mount -t tmpfs fim-no-rsyslog '${d}'`)
      .join(' && ');
    const script = `${mounts || 'true'} && for b in ${RSYSLOGD_CANDIDATES.join(' ')}; do [ -e "$b" ] && { echo "still there: $b" >&2; exit 99; }; done; exec "$0" "$@"`;
    const r = spawnSync('unshare', ['--mount', 'sh', '-c', script, process.execPath, FIM, 'demo'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.error) throw r.error;
    expect(r.status, r.stderr).not.toBe(99);
    const out = expectCompleteDemo(r);
    expect(out).toContain('built-in receiver (install rsyslog to use the real one)');
  });
});
