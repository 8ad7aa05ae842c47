/**
 * A keys directory damaged in a later epoch (a certificate's or a private seed's base64 changed in
 * place, its length kept): a command decodes only the epoch it signs in and runs (keys/cert-lines.ts,
 * keys/seed-lines.ts), but the daemon, which lives through many epochs, decodes every one at start
 * and refuses to start (exit 20, the file and the epoch named) instead of stopping at that epoch.
 * A real `fim watch` child; its alerts go to a UDP port nobody reads.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonProcess, watchHostConfig } from '../helpers/daemon.js';
import { fim, Sandbox } from '../helpers/fim.js';
import { waitFor } from '../helpers/wait.js';

/** The base64 after `field` on the last entry line of a key file, damaged in place. */
function damageLast(file: string, field: 'cert' | 'seed'): void {
  const text = readFileSync(file, 'utf8');
  const lines = text.trimEnd().split('\n');
  const last = lines.at(-2)!;
  const value = new RegExp(`"${field}":"([^"]+)"`).exec(last)![1]!;
  lines[lines.length - 2] = last.replace(value, `*${value.slice(1)}`);
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}

describe('a keys directory damaged in a later epoch', () => {
  for (const [file, field] of [
    ['epoch-certs.json', 'cert'],
    ['epoch-keys.json', 'seed'],
  ] as const) {
    it(`${file}: a command signs in its own epoch; the daemon refuses to start, naming the epoch`, async () => {
      await using sb = new Sandbox('fim-keys-damaged-');
      sb.write('app/a.py', 'A\n');
      sb.policy('  - name: code\n    severity: high\n    paths: ["{tree}/app"]\n    check: readonly\n');
      const config = watchHostConfig(sb, { host: 'damaged', port: 9, watch: 'backend: inotify' });
      expect(fim(['baseline', '--config', config]).code).toBe(0);
      damageLast(join(sb.dir, 'keys', file), field);

      const check = fim(['check', '--config', config]);
      expect(check.code, check.stderr).toBe(0);

      const d = new DaemonProcess(['--config', config]);
      try {
        await waitFor(() => d.exitCode !== null, {
          what: 'the daemon to refuse its start',
          timeoutMs: 15_000,
        });
        expect(d.exitCode).toBe(20);
        const said = d.output();
        expect(said).toContain(join(sb.dir, 'keys', file));
        expect(said).toMatch(/epoch 23/);
        expect(said).not.toMatch(/\n\s+at /);
        expect(d.lines.some((l) => /full check \(start\)/.test(l))).toBe(false);
      } finally {
        await d.stop();
      }
    });
  }
});
