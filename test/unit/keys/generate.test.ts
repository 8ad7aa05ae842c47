import { createPublicKey } from 'node:crypto';
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ExitCode, KeyError } from '../../../src/errors.js';
import { privateKeyFromSeed } from '../../../src/keys/ed25519.js';
import { DEFAULT_EPOCH_SECONDS, DEFAULT_EPOCHS, generateKeys } from '../../../src/keys/generate.js';
import {
  PRIVATE_FILE,
  PUBLIC_FILE,
  readPrivateKeys,
  readPublicMaterial,
} from '../../../src/keys/key-files.js';
import { checkCertificate, fingerprint, readPublicKeyFile } from '../../../src/keys/material.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-generate-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const publicOf = (seed: Buffer) =>
  createPublicKey(privateKeyFromSeed(seed)).export({ format: 'der', type: 'spki' }).subarray(12);

describe('generateKeys', () => {
  test('every epoch key is certified by the master, whose private key is in no file', () => {
    const r = generateKeys({ dir, host: 'h', epochs: 3, epochSeconds: 2, start: 5000 });
    const m = readPublicMaterial(dir);
    expect(m).toMatchObject({ host: 'h', startMs: 5000, epochMs: 2000, epochs: 3 });
    expect(fingerprint(m.master)).toBe(r.fingerprint);
    expect(readPublicKeyFile(r.pubPath)).toEqual({
      host: 'h',
      master: m.master,
      startMs: 5000,
      epochMs: 2000,
      epochs: 3,
    });
    const priv = readPrivateKeys(r.privatePath);
    expect(priv.host).toBe('h');
    expect([...priv.keys.keys()]).toEqual([0, 1, 2]);
    for (const [epoch, seed] of priv.keys) {
      const cert = m.certs.at(epoch)!;
      // The private file holds exactly the epoch seeds: each one's public key is its epoch's.
      expect(publicOf(seed).equals(cert.pub)).toBe(true);
      expect(publicOf(seed).equals(m.master)).toBe(false);
      expect(checkCertificate(m, epoch, cert.pub, cert.cert)).toBe(true);
    }
    expect(readdirSync(dir).sort()).toEqual([PRIVATE_FILE, PUBLIC_FILE, 'h.pub'].sort());
    expect(r).toEqual({
      pubPath: join(dir, 'h.pub'),
      fingerprint: r.fingerprint,
      privatePath: join(dir, PRIVATE_FILE),
      publicPath: join(dir, PUBLIC_FILE),
    });
  });

  test('defaults: hourly epochs for a year and a day, starting now', () => {
    expect(DEFAULT_EPOCH_SECONDS).toBe(3600);
    expect(DEFAULT_EPOCHS).toBe(8808);
    const before = Date.now();
    generateKeys({ dir, host: 'h', epochs: 1 });
    const m = readPublicMaterial(dir);
    expect(m.epochMs).toBe(3_600_000);
    expect(m.startMs).toBeGreaterThanOrEqual(before);
    expect(m.startMs).toBeLessThanOrEqual(Date.now());
  });

  test.each([
    { opts: { epochs: 0 }, message: 'epochs must be an integer from 1 to 1000000, got 0' },
    { opts: { epochs: 1.5 }, message: 'epochs must be an integer from 1 to 1000000, got 1.5' },
    { opts: { epochs: 1_000_001 }, message: 'epochs must be an integer from 1 to 1000000, got 1000001' },
    { opts: { epochs: 1, epochSeconds: 0.05 }, message: 'epoch length must be at least 0.1 s, got 0.05' },
  ])('refuses $opts, writing nothing', ({ opts, message }) => {
    expect(() => generateKeys({ dir, host: 'h', ...opts })).toThrow(new KeyError(message));
    expect(readdirSync(dir)).toEqual([]);
  });

  test.each([PRIVATE_FILE, PUBLIC_FILE, 'h.pub'])(
    'refuses to replace an existing %s without force',
    (name) => {
      writeFileSync(join(dir, name), 'keep me');
      let caught: unknown;
      try {
        generateKeys({ dir, host: 'h', epochs: 1 });
      } catch (err: unknown) {
        caught = err;
      }
      expect(caught).toMatchObject({
        exitCode: ExitCode.key,
        message: `${join(dir, name)} already exists: keys were generated before. Use --force to replace them`,
      });
      expect(readFileSync(join(dir, name), 'utf8')).toBe('keep me');
    },
  );

  test('with force, a symlink planted at a key file name is replaced, not written through', () => {
    generateKeys({ dir, host: 'h', epochs: 1 });
    const outside = join(dir, 'outside');
    writeFileSync(outside, 'not a key file');
    rmSync(join(dir, PRIVATE_FILE));
    symlinkSync(outside, join(dir, PRIVATE_FILE));
    generateKeys({ dir, host: 'h', epochs: 1, force: true });
    expect(lstatSync(join(dir, PRIVATE_FILE)).isFile()).toBe(true);
    expect(statSync(join(dir, PRIVATE_FILE)).mode & 0o777).toBe(0o600);
    expect(readFileSync(outside, 'utf8')).toBe('not a key file');
  });

  test('a keys path that cannot be a directory is a KeyError naming it', () => {
    const file = join(dir, 'file');
    writeFileSync(file, '');
    expect(() => generateKeys({ dir: join(file, 'keys'), host: 'h', epochs: 1 })).toThrow(
      `cannot create keys directory ${join(file, 'keys')}: ENOTDIR`,
    );
  });
});
