import {
  closeSync,
  linkSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { KeyError } from '../../../src/errors.js';
import { eraseEndedKeys } from '../../../src/keys/erase.js';
import { generateKeys } from '../../../src/keys/generate.js';
import {
  ERASED_SEED_TEXT,
  formatPrivateKeys,
  PRIVATE_FILE,
  parsePrivateKeys,
  readPrivateKeys,
} from '../../../src/keys/key-files.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-erase-'));
  path = join(dir, PRIVATE_FILE);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The seed texts as stored, by epoch. */
function storedSeeds(file: string): Map<number, string> {
  const obj = JSON.parse(readFileSync(file, 'utf8')) as { keys: Array<{ epoch: number; seed: string }> };
  return new Map(obj.keys.map((k) => [k.epoch, k.seed]));
}

/** True when no encoding of the seed (base64 as stored, raw bytes, hex) is anywhere in `bytes`. */
function gone(bytes: Buffer, seedText: string): boolean {
  const raw = Buffer.from(seedText, 'base64');
  return !bytes.includes(seedText) && !bytes.includes(raw) && !bytes.includes(raw.toString('hex'));
}

describe('eraseEndedKeys', () => {
  test('ended seeds read back as gone from the key file; the others stay, mode 0600, no temp file', () => {
    generateKeys({ dir, host: 'h', epochs: 5, start: 0 });
    const before = storedSeeds(path);
    expect(eraseEndedKeys(dir, 3)).toBe(3);
    const bytes = readFileSync(path);
    for (const e of [0, 1, 2]) expect(gone(bytes, before.get(e)!)).toBe(true);
    expect(storedSeeds(path)).toEqual(new Map([3, 4].map((e) => [e, before.get(e)!])));
    expect(statSync(path).mode & 0o7777).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  test('in fim layout the rest is rewritten byte for byte as formatPrivateKeys writes it, twice over', () => {
    generateKeys({ dir, host: 'web-1.example:a_b', epochs: 6, start: 0 });
    const all = readPrivateKeys(path);
    expect(eraseEndedKeys(dir, 2)).toBe(2);
    const left = (from: number) => new Map([...all.keys].filter(([e]) => e >= from));
    expect(readFileSync(path, 'utf8')).toBe(formatPrivateKeys('web-1.example:a_b', left(2)));
    expect(eraseEndedKeys(dir, 5)).toBe(3);
    expect(readFileSync(path, 'utf8')).toBe(formatPrivateKeys('web-1.example:a_b', left(5)));
    // All ended: the file holds no entry, and reads back so.
    expect(eraseEndedKeys(dir, 6)).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe(formatPrivateKeys('web-1.example:a_b', new Map()));
    expect(readPrivateKeys(path).keys.size).toBe(0);
    expect(eraseEndedKeys(dir, 6)).toBe(0);
  });

  test('a seed of a later epoch damaged in place does not stop the erasure; its line is kept as it is', () => {
    generateKeys({ dir, host: 'h', epochs: 5, start: 0 });
    const before = storedSeeds(path);
    const bad = `*${before.get(4)!.slice(1)}`;
    writeFileSync(path, readFileSync(path, 'utf8').replace(before.get(4)!, bad), { mode: 0o600 });
    expect(eraseEndedKeys(dir, 2)).toBe(2);
    const bytes = readFileSync(path);
    for (const e of [0, 1]) expect(gone(bytes, before.get(e)!)).toBe(true);
    expect(storedSeeds(path)).toEqual(
      new Map([
        [2, before.get(2)!],
        [3, before.get(3)!],
        [4, bad],
      ]),
    );
  });

  test('the old file itself is overwritten before it is replaced: a hard link to it keeps no ended seed', () => {
    generateKeys({ dir, host: 'h', epochs: 4, start: 0 });
    const before = storedSeeds(path);
    const copy = join(dir, 'copy-by-link');
    linkSync(path, copy);
    eraseEndedKeys(dir, 2);
    const old = readFileSync(copy);
    for (const e of [0, 1]) expect(gone(old, before.get(e)!)).toBe(true);
    // Still a valid file while it was the key file: the ended entries hold the erased marker.
    expect(old.toString('utf8').split(ERASED_SEED_TEXT)).toHaveLength(3);
    expect([...parsePrivateKeys(old.toString('utf8'), copy).keys.keys()]).toEqual([2, 3]);
    expect(statSync(path).ino).not.toBe(statSync(copy).ino);
  });

  test('a descriptor opened before the erasure reads the ended seeds overwritten', () => {
    generateKeys({ dir, host: 'h', epochs: 3, start: 0 });
    const seed0 = storedSeeds(path).get(0)!;
    const fd = openSync(path, 'r');
    try {
      eraseEndedKeys(dir, 1);
      const buf = Buffer.alloc(statSync(path).size + 200);
      const n = readSync(fd, buf, 0, buf.length, 0);
      expect(gone(buf.subarray(0, n), seed0)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  test('nothing ended: nothing written, the file is the same inode with the same bytes', () => {
    generateKeys({ dir, host: 'h', epochs: 3, start: 0 });
    const ino = statSync(path).ino;
    const bytes = readFileSync(path);
    expect(eraseEndedKeys(dir, 0)).toBe(0);
    expect(statSync(path).ino).toBe(ino);
    expect(readFileSync(path)).toEqual(bytes);
  });

  test('already erased by another process: returns 0 and writes nothing', () => {
    generateKeys({ dir, host: 'h', epochs: 3, start: 0 });
    expect(eraseEndedKeys(dir, 2)).toBe(2);
    const ino = statSync(path).ino;
    expect(eraseEndedKeys(dir, 2)).toBe(0);
    expect(statSync(path).ino).toBe(ino);
  });

  test('a hand-written file whose seed is JSON-escaped: the whole old file is wiped after the replace', () => {
    generateKeys({ dir, host: 'h', epochs: 2, start: 0 });
    const before = storedSeeds(path);
    const seed0 = before.get(0)!;
    // Same JSON value, different bytes: the seed's first character as a \u escape.
    const escaped = `\\u${seed0.charCodeAt(0).toString(16).padStart(4, '0')}${seed0.slice(1)}`;
    writeFileSync(path, readFileSync(path, 'utf8').replace(seed0, escaped), { mode: 0o600 });
    expect(readPrivateKeys(path).keys.get(0)?.toString('base64')).toBe(seed0);
    const copy = join(dir, 'copy-by-link');
    linkSync(path, copy);
    expect(eraseEndedKeys(dir, 1)).toBe(1);
    expect(readFileSync(copy).every((b) => b === 0)).toBe(true);
    expect(storedSeeds(path)).toEqual(new Map([[1, before.get(1)!]]));
  });

  test('a missing key file says to run keygen; a damaged one names the file', () => {
    expect(() => eraseEndedKeys(dir, 1)).toThrow(/ENOENT: run "fim keygen" first/);
    writeFileSync(path, '{', { mode: 0o600 });
    expect(() => eraseEndedKeys(dir, 1)).toThrow(
      new KeyError(`key file ${path} is not valid JSON (damaged?)`),
    );
  });
});
