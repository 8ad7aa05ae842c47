/**
 * Keys that expire: every command warns from 30 days before, and after expiry check stops with
 * exit 20 instead of passing for a quiet host while its alerts cannot be signed. Ended epochs are
 * erased by whatever command runs, not only when something signs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fim, Sandbox } from '../helpers/fim.js';
import { waitFor } from '../helpers/wait.js';

function keyed(sb: Sandbox, epochs: number, length: string): string {
  sb.write('app/a.py', 'a');
  sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n');
  const config = join(sb.dir, 'fim.yaml');
  writeFileSync(
    config,
    `host: exp\npolicies: [${JSON.stringify(sb.policyFile)}]\ndatabase: fim.db\nkeys: keys\n`,
  );
  const k = fim(['keygen', '-q', '--epochs', String(epochs), '--epoch-length', length, '--config', config]);
  expect(k.code, k.stderr).toBe(0);
  return config;
}

describe('key expiry', () => {
  it('warns on stderr when the keys expire within 30 days', async () => {
    await using sb = new Sandbox('fim-expiry-');
    const config = keyed(sb, 2, '1d');
    const b = fim(['baseline', '-q', '--config', config]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(
      /warning: the host's keys in \S+ expire at \S+ \(in [12] days\): run "fim keygen --force"/,
    );
    expect(fim(['check', '-q', '--config', config]).stderr).toContain('expire at');
  });

  it('after expiry, check stops with exit 20 and says why; the last epoch key is erased', async () => {
    await using sb = new Sandbox('fim-expiry-');
    const config = keyed(sb, 2, '1s');
    expect(fim(['baseline', '-q', '--config', config]).code).toBe(0);
    const start = Date.now();
    await waitFor(() => Date.now() - start > 2500, { what: 'the two 1 s epochs to end', timeoutMs: 5000 });
    const c = fim(['check', '--config', config]);
    expect(c.code).toBe(20);
    expect(c.stderr).toMatch(/keys in \S+ expired at .*run "fim keygen --force"/);
    // Whatever ran, the ended epochs' private keys are gone from the file.
    const priv = JSON.parse(readFileSync(join(sb.dir, 'keys', 'epoch-keys.json'), 'utf8')) as {
      keys: { epoch: number; seed: string }[];
    };
    expect(priv.keys).toEqual([]);
  });

  it('keygen --erase (fim-erase-keys.timer) erases ended epochs with nothing else running, expired ones too', async () => {
    await using sb = new Sandbox('fim-expiry-');
    const config = keyed(sb, 3, '1s');
    const held = () =>
      (JSON.parse(readFileSync(join(sb.dir, 'keys', 'epoch-keys.json'), 'utf8')) as { keys: unknown[] }).keys
        .length;
    expect(held()).toBe(3);
    const start = Date.now();
    await waitFor(() => Date.now() - start > 1200, { what: 'epoch 0 to end', timeoutMs: 5000 });
    const r = fim(['keygen', '--erase', '--json', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { erased: number; held: number };
    expect(out.erased).toBeGreaterThanOrEqual(1);
    expect(held()).toBe(out.held);
    await waitFor(() => Date.now() - start > 3500, { what: 'the keys to expire', timeoutMs: 6000 });
    expect(fim(['keygen', '--erase', '-q', '--config', config]).code).toBe(0);
    expect(held()).toBe(0);
    expect(fim(['keygen', '--erase', '--force', '--config', config]).code).toBe(16);
  });
});
