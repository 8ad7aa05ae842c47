import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, test } from 'vitest';
import { ExitCode, KeyError } from '../../../src/errors.js';
import { loadKeys } from '../../../src/keys/forward-secure.js';
import { generateKeys } from '../../../src/keys/generate.js';
import {
  assertPrivateMode,
  ERASED_SEED_TEXT,
  formatPrivateKeys,
  formatPublicMaterial,
  PRIVATE_FILE,
  PUBLIC_FILE,
  parsePrivateKeys,
  parsePublicMaterial,
  readPrivateKeys,
  readPublicMaterial,
  writeKeyFile,
} from '../../../src/keys/key-files.js';
import type { EpochCert, PublicMaterial } from '../../../src/keys/types.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-key-files-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const seed = (n: number) => Buffer.alloc(32, n);
const certList: EpochCert[] = [
  { epoch: 0, pub: Buffer.alloc(32, 1), cert: Buffer.alloc(64, 2) },
  { epoch: 1, pub: Buffer.alloc(32, 3), cert: Buffer.alloc(64, 4) },
];
const material: PublicMaterial = {
  host: 'web-1',
  master: Buffer.alloc(32, 9),
  startMs: 1000,
  epochMs: 500,
  epochs: 2,
  certs: certList,
};

/** A material's fields and every certificate, as plain data (the certificates may be lazy). */
function plain(m: PublicMaterial): unknown {
  const certs: (EpochCert | undefined)[] = [];
  for (let e = 0; e < m.certs.length; e++) certs.push(m.certs.at(e));
  return { ...m, certs };
}

describe('formats', () => {
  test('the private key file is byte for byte what fim has always written: one entry per line, by epoch', () => {
    const text = formatPrivateKeys(
      'web-1',
      new Map([
        [2, seed(2)],
        [1, seed(1)],
      ]),
    );
    expect(text).toBe(
      `{"format":"fim-epoch-private/1","host":"web-1","keys":[\n` +
        `{"epoch":1,"seed":"${seed(1).toString('base64')}"},\n` +
        `{"epoch":2,"seed":"${seed(2).toString('base64')}"}\n]}\n`,
    );
    const back = parsePrivateKeys(text, 'p');
    expect(back.host).toBe('web-1');
    expect([...back.keys]).toEqual([
      [1, seed(1)],
      [2, seed(2)],
    ]);
  });

  test('the public material is byte for byte what fim has always written, and reads back equal', () => {
    const text = formatPublicMaterial(material);
    expect(text).toBe(
      `{"format":"fim-epoch-public/1","host":"web-1","master":"${material.master.toString('base64')}","startMs":1000,"epochMs":500,"epochs":2,"certs":[\n` +
        certList
          .map(
            (c) =>
              `{"epoch":${c.epoch},"pub":"${c.pub.toString('base64')}","cert":"${c.cert.toString('base64')}"}`,
          )
          .join(',\n') +
        '\n]}\n',
    );
    expect(plain(parsePublicMaterial(text, 'p'))).toEqual(plain(material));
  });

  test("the public material in fim's layout reads as the same certificates as read whole, epoch by epoch", () => {
    const many: PublicMaterial = {
      ...material,
      epochs: 120,
      certs: Array.from({ length: 120 }, (_, e) => ({
        epoch: e,
        pub: Buffer.alloc(32, e % 251),
        cert: Buffer.alloc(64, (e * 7) % 251),
      })),
    };
    const text = formatPublicMaterial(many);
    const lazy = parsePublicMaterial(text, 'p');
    // The same JSON with other whitespace is not fim's layout: it is read whole, and agrees.
    const whole = parsePublicMaterial(JSON.stringify(JSON.parse(text), null, 1), 'p');
    expect(Array.isArray(whole.certs)).toBe(true);
    expect(Array.isArray(lazy.certs)).toBe(false);
    expect(plain(lazy)).toEqual(plain(whole));
    expect(plain(lazy)).toEqual(plain(many));
    expect(lazy.certs.at(-1)).toBeUndefined();
    expect(lazy.certs.at(120)).toBeUndefined();
    expect(lazy.certs.at(1.5)).toBeUndefined();
  });

  test('a layout off by anything is read whole, and refused where the whole read refuses it', () => {
    const text = formatPublicMaterial(material);
    const lines = text.split('\n');
    // A certificate line missing: the whole read finds no certificate for that epoch.
    expect(() =>
      parsePublicMaterial([lines[0], lines[1]!.replace(/,$/, ''), ']}', ''].join('\n'), 'p'),
    ).toThrow(/no certificate for epoch 1/);
    // Epochs swapped in order (valid JSON): not fim's layout, read whole, the same material.
    const swapped = [lines[0], `${lines[2]},`, lines[1]!.replace(/,$/, ''), ']}', ''].join('\n');
    expect(plain(parsePublicMaterial(swapped, 'p'))).toEqual(plain(material));
    // Something after the end: not JSON, refused.
    expect(() => parsePublicMaterial(`${text}x`, 'p')).toThrow(KeyError);
    // A certificate's base64 damaged in place (its length kept): that epoch is refused when used,
    // with the file and the epoch named; the others still read.
    const c1 = material.certs.at(1)!.cert.toString('base64');
    const damaged = parsePublicMaterial(text.replace(c1, `*${c1.slice(1)}`), 'p');
    expect(damaged.certs.at(0)).toEqual(material.certs.at(0));
    expect(() => damaged.certs.at(1)).toThrow(/key file p: bad key or certificate for epoch 1/);
  });

  test('an entry overwritten by an interrupted erasure is read as gone', () => {
    const text = formatPrivateKeys(
      'h',
      new Map([
        [0, seed(5)],
        [1, seed(6)],
      ]),
    ).replace(seed(5).toString('base64'), ERASED_SEED_TEXT);
    expect([...parsePrivateKeys(text, 'p').keys.keys()]).toEqual([1]);
  });

  const privateOk = formatPrivateKeys('h', new Map([[0, seed(1)]]));
  test.each([
    { what: 'not JSON', text: '{"format":', message: 'key file F is not valid JSON (damaged?)' },
    { what: 'not an object', text: '[1]', message: 'key file F is not a fim key file' },
    {
      what: 'another format',
      text: privateOk.replace('fim-epoch-private/1', 'fim-epoch-private/2'),
      message: 'key file F is not a fim private key file (fim-epoch-private/1)',
    },
    {
      what: 'a bad entry',
      text: privateOk.replace(/"seed":"[^"]*"/, '"seed":1'),
      message: 'key file F: bad entry',
    },
    {
      what: 'a negative epoch',
      text: privateOk.replace('"epoch":0', '"epoch":-1'),
      message: 'key file F: "epoch" must be an integer >= 0',
    },
    {
      what: 'a short seed',
      text: privateOk.replace(/"seed":"[^"]*"/, '"seed":"AAAA"'),
      message: 'key file F: bad seed for epoch 0',
    },
  ])('a private key file with $what is refused, naming the file', ({ text, message }) => {
    expect(() => parsePrivateKeys(text, 'F')).toThrow(new KeyError(message));
  });

  const publicOk = formatPublicMaterial(material);
  test.each([
    {
      what: 'a bad master key',
      text: publicOk.replace(/"master":"[^"]*"/, '"master":"x"'),
      message: 'key file F: bad master public key',
    },
    {
      what: 'a missing certificate',
      text: publicOk.replace(/,\n\{"epoch":1[^\n]*/, ''),
      message: 'key file F: no certificate for epoch 1',
    },
    {
      what: 'a zero epoch length',
      text: publicOk.replace('"epochMs":500', '"epochMs":0'),
      message: 'key file F: "epochMs" must be an integer >= 1',
    },
    {
      what: 'a short certificate',
      text: publicOk.replace(/"cert":"[^"]*"/, '"cert":"AAAA"'),
      message: 'key file F: bad key or certificate for epoch 0',
    },
  ])('public material with $what is refused, naming the file', ({ text, message }) => {
    expect(() => parsePublicMaterial(text, 'F')).toThrow(new KeyError(message));
  });

  test('missing files say to run keygen', () => {
    expect(() => readPublicMaterial(dir)).toThrow(
      `cannot read key file ${join(dir, PUBLIC_FILE)}: ENOENT: run "fim keygen" first`,
    );
    expect(() => readPrivateKeys(join(dir, PRIVATE_FILE))).toThrow(/ENOENT: run "fim keygen" first/);
  });
});

describe('assertPrivateMode', () => {
  test.each([0o600, 0o400, 0o700, 0o200])('accepts mode %s (owner only)', (mode) => {
    const path = join(dir, 'k');
    writeFileSync(path, '');
    chmodSync(path, mode);
    expect(() => assertPrivateMode(path)).not.toThrow();
  });

  test.each([0o640, 0o604, 0o620, 0o602, 0o660, 0o644, 0o610])('refuses mode %s, naming the fix', (mode) => {
    const path = join(dir, 'k');
    writeFileSync(path, '');
    chmodSync(path, mode);
    const shown = mode.toString(8).padStart(4, '0');
    expect(() => assertPrivateMode(path)).toThrow(
      new KeyError(
        `key file ${path} is accessible by group or others (mode ${shown}): run "chmod 600 ${path}" and check who may have copied it`,
      ),
    );
  });

  test('a missing file says to run keygen', () => {
    expect(() => assertPrivateMode(join(dir, 'k'))).toThrow(/ENOENT: run "fim keygen" first/);
  });
});

describe('writeKeyFile', () => {
  test('writes mode 0600 and leaves no temp file', () => {
    writeFileSync(join(dir, PRIVATE_FILE), 'old', { mode: 0o644 });
    writeKeyFile(dir, PRIVATE_FILE, 'new');
    expect(readFileSync(join(dir, PRIVATE_FILE), 'utf8')).toBe('new');
    expect(statSync(join(dir, PRIVATE_FILE)).mode & 0o7777).toBe(0o600);
    expect(readdirSync(dir)).toEqual([PRIVATE_FILE]);
  });

  test('a failure is a KeyError (exit 20) naming the file', () => {
    const path = join(dir, 'missing', PUBLIC_FILE);
    let caught: unknown;
    try {
      writeKeyFile(join(dir, 'missing'), PUBLIC_FILE, 'x');
    } catch (err: unknown) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(KeyError);
    expect(caught).toMatchObject({ exitCode: ExitCode.key, message: `cannot write ${path}: ENOENT` });
  });
});

describe('the keys directory', () => {
  it('is refused when group or others may write it (a swapped-in key pair), with exit 20', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fim-keysdir-'));
    try {
      generateKeys({ dir, host: 'h', epochs: 2 });
      expect(() => loadKeys(dir)).not.toThrow();
      for (const mode of [0o777, 0o775, 0o757]) {
        chmodSync(dir, mode);
        let err: unknown;
        try {
          loadKeys(dir);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(KeyError);
        expect((err as KeyError).exitCode).toBe(20);
        expect((err as KeyError).message).toContain('writable by group or others');
      }
      chmodSync(dir, 0o755);
      expect(() => loadKeys(dir)).not.toThrow();
      chmodSync(dir, 0o777);
      expect(() => generateKeys({ dir, host: 'h', epochs: 2, force: true })).toThrow(
        /writable by group or others/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
