import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { KeyError } from '../../../src/errors.js';
import {
  generateKeys,
  loadKeys,
  PRIVATE_FILE,
  PUBLIC_FILE,
  parsePublicKeyFile,
  readPublicKeyFile,
  readPublicMaterial,
  signBaselineRoot,
  verifyBaselineRoot,
} from '../../../src/keys/index.js';
import { waitFor } from '../../helpers/wait.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-keys-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Seeds in the private key file, by epoch, exactly as stored. */
function storedSeeds(keysDir: string): Map<number, string> {
  const obj = JSON.parse(readFileSync(join(keysDir, PRIVATE_FILE), 'utf8')) as {
    keys: Array<{ epoch: number; seed: string }>;
  };
  return new Map(obj.keys.map((k) => [k.epoch, k.seed]));
}

describe('generateKeys', () => {
  test('writes 0600 files in a 0700 directory and an enrolment key that parses', () => {
    const keys = join(dir, 'keys');
    const r = generateKeys({ dir: keys, host: 'web-1', epochs: 4, epochSeconds: 1, start: 1_000_000 });
    expect(statSync(keys).mode & 0o777).toBe(0o700);
    for (const f of [PRIVATE_FILE, PUBLIC_FILE, 'web-1.pub'])
      expect(statSync(join(keys, f)).mode & 0o777).toBe(0o600);
    expect(r.pubPath).toBe(join(keys, 'web-1.pub'));
    const pub = readPublicKeyFile(r.pubPath);
    expect(pub).toMatchObject({ host: 'web-1', startMs: 1_000_000, epochMs: 1000, epochs: 4 });
    expect(r.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(readFileSync(r.pubPath, 'utf8')).toContain(r.fingerprint);
    // The master private key is never written: only epoch seeds are in the private file.
    expect([...storedSeeds(keys).keys()]).toEqual([0, 1, 2, 3]);
  });

  test('refuses to overwrite without force, replaces with force', () => {
    const first = generateKeys({ dir, host: 'h', epochs: 2 });
    expect(() => generateKeys({ dir, host: 'h', epochs: 2 })).toThrow(KeyError);
    expect(() => generateKeys({ dir, host: 'h', epochs: 2 })).toThrow(/--force/);
    const second = generateKeys({ dir, host: 'h', epochs: 2, force: true });
    expect(second.fingerprint).not.toBe(first.fingerprint);
  });

  test('rejects host names that could break a file name or a log line', () => {
    for (const host of ['', 'a b', '../x', 'a/b', 'x\ny']) {
      expect(() => generateKeys({ dir, host, epochs: 1 })).toThrow(KeyError);
    }
  });
});

describe('loadKeys', () => {
  test('refuses key files readable by group or others, naming the chmod fix', () => {
    generateKeys({ dir, host: 'h', epochs: 2 });
    const path = join(dir, PRIVATE_FILE);
    chmodSync(path, 0o640);
    expect(() => loadKeys(dir)).toThrow(KeyError);
    expect(() => loadKeys(dir)).toThrow(`chmod 600 ${path}`);
    chmodSync(path, 0o600);
    chmodSync(join(dir, PUBLIC_FILE), 0o604);
    expect(() => loadKeys(dir)).toThrow(/accessible by group or others/);
  });

  test('a missing keys directory says to run keygen', () => {
    expect(() => loadKeys(join(dir, 'nope'))).toThrow(/fim keygen/);
  });
});

describe('forward security', () => {
  test('after an epoch change the old private key bytes are gone from the file and from memory', async () => {
    // Real time, epochs of 1 s: wait (by polling, with a deadline) for the next epoch to begin.
    const start = Date.now();
    generateKeys({ dir, host: 'h', epochs: 5, epochSeconds: 1, start });
    const ks = loadKeys(dir);
    const s0 = ks.currentSigner();
    expect(s0.epoch).toBe(0);
    const seed0 = storedSeeds(dir).get(0)!;
    const seed0Raw = Buffer.from(seed0, 'base64');
    const sig = s0.sign(Buffer.from('hello'));
    expect(sig).toHaveLength(64);

    await waitFor(() => Date.now() >= start + 1000, { what: 'epoch 1 to begin', timeoutMs: 5000 });
    const s1 = ks.currentSigner();
    expect(s1.epoch).toBe(1);

    const bytes = readFileSync(join(dir, PRIVATE_FILE));
    expect(bytes.includes(seed0)).toBe(false);
    expect(bytes.includes(seed0Raw)).toBe(false);
    expect(bytes.includes(seed0Raw.toString('hex'))).toBe(false);
    expect([...storedSeeds(dir).keys()]).toEqual([1, 2, 3, 4]);
    expect(ks.heldEpochs()).toEqual([1, 2, 3, 4]);
    expect(statSync(join(dir, PRIVATE_FILE)).mode & 0o777).toBe(0o600);
    // The old signer object is dead too.
    expect(() => s0.sign(Buffer.from('late'))).toThrow(KeyError);
    // A fresh load after erasure cannot get epoch 0 back either.
    expect(() => loadKeys(dir).currentSigner(start + 10)).toThrow(/already erased/);
  });

  test('erasure re-reads the file, so a second process never resurrects erased keys', () => {
    generateKeys({ dir, host: 'h', epochs: 6, epochSeconds: 1, start: 0 });
    const a = loadKeys(dir);
    const b = loadKeys(dir);
    b.currentSigner(3500); // erases 0..2 on disk
    a.currentSigner(1500); // holds 0..5 in memory; must not write 0..2 back
    expect([...storedSeeds(dir).keys()]).toEqual([3, 4, 5]);
  });

  test('before the first epoch and after the last: clear errors', () => {
    generateKeys({ dir, host: 'h', epochs: 2, epochSeconds: 1, start: 10_000 });
    const ks = loadKeys(dir);
    expect(() => ks.currentSigner(9_999)).toThrow(/not valid before/);
    expect(() => ks.currentSigner(12_000)).toThrow(/expired/);
  });
});

describe('baseline root signatures', () => {
  test('verify after the signing epoch key is erased; fail on any change', () => {
    const start = Date.now() - 500;
    const r = generateKeys({ dir, host: 'h', epochs: 4, epochSeconds: 1, start });
    const ks = loadKeys(dir);
    const root = Buffer.alloc(32, 7);
    const created = BigInt(start + 100) * 1_000_000n;
    const sig = signBaselineRoot(ks.currentSigner(start + 100), root, created);
    const json: unknown = JSON.parse(JSON.stringify(sig));
    ks.currentSigner(start + 2500); // epochs 0 and 1 erased
    expect(storedSeeds(dir).has(0)).toBe(false);

    expect(verifyBaselineRoot(dir, root, json)).toBe(true);
    expect(verifyBaselineRoot(r.pubPath, root, json)).toBe(true);
    expect(verifyBaselineRoot(readPublicMaterial(dir), root, json)).toBe(true);

    expect(verifyBaselineRoot(dir, Buffer.alloc(32, 8), json)).toBe(false);
    expect(verifyBaselineRoot(dir, root, { ...sig, createdNs: (created + 1n).toString() })).toBe(false);
    expect(verifyBaselineRoot(dir, root, { ...sig, epoch: 1 })).toBe(false);
    expect(verifyBaselineRoot(dir, root, { ...sig, host: 'other' })).toBe(false);
    expect(verifyBaselineRoot(dir, root, null)).toBe(false);
    expect(verifyBaselineRoot(dir, root, 'garbage')).toBe(false);
    // Another host's keys do not vouch for this baseline.
    const other = join(dir, 'other');
    generateKeys({ dir: other, host: 'h', epochs: 4, epochSeconds: 1, start });
    expect(verifyBaselineRoot(other, root, json)).toBe(false);
  });

  test('refuses to sign a creation time outside the epoch', () => {
    generateKeys({ dir, host: 'h', epochs: 2, epochSeconds: 1, start: 0 });
    const s = loadKeys(dir).currentSigner(500);
    expect(() => signBaselineRoot(s, Buffer.alloc(32), 10_000_000n * 1_000_000n)).toThrow(KeyError);
  });
});

describe('enrolment file', () => {
  test('a damaged fingerprint or missing field is refused', () => {
    const r = generateKeys({ dir, host: 'h', epochs: 2 });
    const text = readFileSync(r.pubPath, 'utf8');
    expect(parsePublicKeyFile(text).host).toBe('h');
    expect(() => parsePublicKeyFile(text.replace(/fingerprint SHA256:./, 'fingerprint SHA256:!'))).toThrow(
      /fingerprint/,
    );
    expect(() => parsePublicKeyFile(text.replace(/^epochs .*$/m, ''))).toThrow(/missing "epochs"/);
    expect(() => parsePublicKeyFile('hello world')).toThrow(/not a fim public key/);
  });
});
