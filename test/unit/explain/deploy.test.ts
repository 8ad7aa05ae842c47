/** Deploy manifests: made and signed from a real directory, refused whenever anything is off. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createManifest,
  deployKeygen,
  loadManifest,
  readDeployPublicKey,
} from '../../../src/explain/deploy.js';
import { Sandbox } from '../../helpers/fim.js';

function setup(sb: Sandbox) {
  sb.write('app/a.py', 'a\n');
  sb.write('app/sub/b.py', 'b\n');
  sb.write(Buffer.from([0x61, 0x70, 0x70, 0x2f, 0xff, 0x2e, 0x70, 0x79]).toString('latin1'), 'odd\n');
  const key = join(sb.dir, 'deploy.key');
  deployKeygen(key);
  const out = join(sb.dir, 'm.json');
  createManifest({
    dir: sb.path('app'),
    keyFile: key,
    name: 'app',
    version: 'v1',
    out,
    nowIso: '2026-12-02T00:00:00Z',
  });
  return { key, out, pub: readDeployPublicKey(`${key}.pub`) };
}

describe('deploy manifests', () => {
  it('list every regular file by its path bytes and BLAKE3, and load back with a trusted key', async () => {
    await using sb = new Sandbox('fim-deploy-');
    const { out, pub } = setup(sb);
    const r = loadManifest(out, [pub]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.manifest).toMatchObject({ name: 'app', version: 'v1' });
    expect(r.manifest.entries.size).toBe(3);
    expect(r.manifest.entries.has(join(sb.path('app'), 'sub', 'b.py'))).toBe(true);
  });

  type Edit = (m: Record<string, string>) => void;
  it.each<readonly [string, Edit, string | RegExp]>([
    ['an untrusted key', (_m) => undefined, 'untrusted'],
    [
      'a body edited after signing',
      (m) => {
        m.body = Buffer.from(
          Buffer.from(m.body!, 'base64').toString('latin1').replace('version=v1', 'version=v2'),
          'latin1',
        ).toString('base64');
      },
      /bad signature/,
    ],
    [
      'a signature cut short',
      (m) => {
        m.signature = m.signature!.slice(0, 20);
      },
      /malformed/,
    ],
    [
      'another format',
      (m) => {
        m.format = 'something/1';
      },
      /not a fim-deploy-manifest/,
    ],
  ])('refuses %s', async (_what, edit, why) => {
    await using sb = new Sandbox('fim-deploy-');
    const { out, pub } = setup(sb);
    const m = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string>;
    edit(m);
    writeFileSync(out, JSON.stringify(m));
    const r = loadManifest(out, why === 'untrusted' ? [Buffer.alloc(32, 1)] : [pub]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatch(why === 'untrusted' ? /does not trust/ : why);
  });

  it('refuses a key file that is not a deploy key, and refuses to overwrite one', async () => {
    await using sb = new Sandbox('fim-deploy-');
    const { key } = setup(sb);
    expect(() => deployKeygen(key)).toThrow(/exists: give --force/);
    writeFileSync(join(sb.dir, 'junk.pub'), '{"format":"x"}');
    expect(() => readDeployPublicKey(join(sb.dir, 'junk.pub'))).toThrow(/not a fim deploy public key/);
  });
});
