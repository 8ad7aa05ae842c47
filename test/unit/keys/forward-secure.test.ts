import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { defaultConfig } from '../../../src/config.js';
import { ExitCode, KeyError } from '../../../src/errors.js';
import { loadKeyStore } from '../../../src/evidence.js';
import { verifyRaw } from '../../../src/keys/ed25519.js';
import { loadKeys } from '../../../src/keys/forward-secure.js';
import { generateKeys } from '../../../src/keys/generate.js';
import { PRIVATE_FILE, PUBLIC_FILE, readPrivateKeys } from '../../../src/keys/key-files.js';
import { checkCertificate } from '../../../src/keys/material.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-forward-secure-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadKeys', () => {
  test('refuses a public file others may write, too', () => {
    generateKeys({ dir, host: 'h', epochs: 1 });
    chmodSync(join(dir, PUBLIC_FILE), 0o602);
    expect(() => loadKeys(dir)).toThrow(/accessible by group or others \(mode 0602\)/);
  });

  test('refuses key files of two different hosts', () => {
    generateKeys({ dir, host: 'a', epochs: 1 });
    const other = join(dir, 'other');
    generateKeys({ dir: other, host: 'b', epochs: 1 });
    writeFileSync(join(dir, PRIVATE_FILE), readFileSync(join(other, PRIVATE_FILE)), { mode: 0o600 });
    expect(() => loadKeys(dir)).toThrow(
      new KeyError(`${join(dir, PRIVATE_FILE)} is for host b but ${join(dir, PUBLIC_FILE)} for a`),
    );
  });
});

describe('a damaged certificate of a later epoch', () => {
  test('a command signs in its own epoch; the daemon (every certificate decoded at start) refuses to start', () => {
    generateKeys({ dir, host: 'h', epochs: 5, epochSeconds: 1, start: 10_000 });
    const file = join(dir, PUBLIC_FILE);
    const text = readFileSync(file, 'utf8');
    const last = text.trimEnd().split('\n').at(-2)!;
    const cert = /"cert":"([^"]+)"/.exec(last)![1]!;
    writeFileSync(file, text.replace(cert, `*${cert.slice(1)}`), { mode: 0o600 });
    const cfg = { ...defaultConfig(), keys: dir };
    expect(loadKeyStore(cfg, undefined, 10_500)?.currentSigner(10_500).epoch).toBe(0);
    expect(() => loadKeyStore(cfg, undefined, 10_500, true)).toThrow(KeyError);
    expect(() => loadKeyStore(cfg, undefined, 10_500, true)).toThrow(/epoch 4/);
    // The command's store reaches the damaged epoch only when it comes.
    const keys = loadKeys(dir);
    expect(keys.currentSigner(10_500).epoch).toBe(0);
    expect(() => keys.currentSigner(14_500)).toThrow(/bad key or certificate for epoch 4/);
  });
});

describe('a damaged private seed of a later epoch', () => {
  test('a command signs in its own epoch; the daemon (every seed decoded at start) refuses to start', () => {
    generateKeys({ dir, host: 'h', epochs: 5, epochSeconds: 1, start: 10_000 });
    const file = join(dir, PRIVATE_FILE);
    const text = readFileSync(file, 'utf8');
    const last = /"seed":"([^"]+)"\}\n\]\}\n$/.exec(text)![1]!;
    writeFileSync(file, text.replace(last, `*${last.slice(1)}`), { mode: 0o600 });
    const cfg = { ...defaultConfig(), keys: dir };
    expect(loadKeyStore(cfg, undefined, 10_500)?.currentSigner(10_500).epoch).toBe(0);
    expect(() => loadKeyStore(cfg, undefined, 10_500, true)).toThrow(KeyError);
    expect(() => loadKeyStore(cfg, undefined, 10_500, true)).toThrow(/bad seed for epoch 4/);
    const keys = loadKeys(dir);
    expect(keys.currentSigner(10_500).epoch).toBe(0);
    expect(() => keys.currentSigner(14_500)).toThrow(/bad seed for epoch 4/);
  });
});

describe('currentSigner', () => {
  test('signs with the epoch key its certificate vouches for, inside the epoch bounds', () => {
    generateKeys({ dir, host: 'h', epochs: 3, epochSeconds: 1, start: 10_000 });
    const ks = loadKeys(dir);
    expect(ks.host).toBe('h');
    expect(ks.dir).toBe(dir);
    const s = ks.currentSigner(11_500);
    expect(s).toMatchObject({ host: 'h', epoch: 1, startMs: 11_000, endMs: 12_000 });
    expect(checkCertificate(ks.material, 1, s.publicKey, s.certificate)).toBe(true);
    const data = Buffer.from('message');
    expect(verifyRaw(s.publicKey, data, s.sign(data))).toBe(true);
    // Within one epoch the same signer is handed out again.
    expect(ks.currentSigner(new Date(11_999))).toBe(s);
  });

  test('moving to a later epoch erases every earlier key first, from memory and file', () => {
    generateKeys({ dir, host: 'h', epochs: 5, epochSeconds: 1, start: 0 });
    const ks = loadKeys(dir);
    const s0 = ks.currentSigner(100);
    expect(ks.currentSigner(3_100).epoch).toBe(3);
    expect(ks.heldEpochs()).toEqual([3, 4]);
    expect([...readPrivateKeys(join(dir, PRIVATE_FILE)).keys.keys()]).toEqual([3, 4]);
    expect(() => s0.sign(Buffer.from('late'))).toThrow(
      new KeyError(`the key of epoch 0 in ${dir} has been erased`),
    );
  });

  test('a clock moved back gets an error, never an erased key back', () => {
    generateKeys({ dir, host: 'h', epochs: 3, epochSeconds: 1, start: 0 });
    const ks = loadKeys(dir);
    ks.currentSigner(2_500);
    let caught: unknown;
    try {
      ks.currentSigner(500);
    } catch (err: unknown) {
      caught = err;
    }
    expect(caught).toMatchObject({
      exitCode: ExitCode.key,
      message:
        'the private key of epoch 0 was already erased (clock moved back, or keys damaged): check the time',
    });
  });

  test('expired keys name the fix', () => {
    generateKeys({ dir, host: 'h', epochs: 1, epochSeconds: 1, start: 0 });
    expect(() => loadKeys(dir).currentSigner(1_000)).toThrow(
      new KeyError(
        `keys in ${dir} expired at 1970-01-01T00:00:01.000Z: run "fim keygen --force" and enrol the new key`,
      ),
    );
  });
});

describe('erasePast', () => {
  test('counts what it erased, once; nothing before the first epoch ends', () => {
    generateKeys({ dir, host: 'h', epochs: 4, epochSeconds: 1, start: 0 });
    const ks = loadKeys(dir);
    expect(ks.erasePast(999)).toBe(0);
    expect(ks.erasePast(2_000)).toBe(2);
    expect(ks.erasePast(2_000)).toBe(0);
    expect(ks.heldEpochs()).toEqual([2, 3]);
  });

  test('a store loaded after another erased knows only what is left', () => {
    generateKeys({ dir, host: 'h', epochs: 4, epochSeconds: 1, start: 0 });
    loadKeys(dir).erasePast(3_000);
    expect(loadKeys(dir).heldEpochs()).toEqual([3]);
  });
});
