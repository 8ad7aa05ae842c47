/**
 * The private key file read lazily (keys/seed-lines.ts) holds exactly the seeds the whole parse
 * reads, refuses (to the whole parse) every layout but fim's own, zeroes a forgotten seed in the
 * bytes it keeps, and refuses a damaged seed when its epoch is used.
 */
import { describe, expect, it } from 'vitest';
import { KeyError } from '../../../src/errors.js';
import {
  ERASED_SEED_TEXT,
  formatPrivateKeys,
  parsePrivateKeys,
  privateSeeds,
} from '../../../src/keys/key-files.js';
import { type HeldSeeds, seedLines } from '../../../src/keys/seed-lines.js';

const seed = (n: number) => Buffer.alloc(32, n);
const header = (obj: unknown) => (obj as { host: string }).host;

function lazy(text: string): HeldSeeds | null {
  return seedLines(Buffer.from(text), 'p', ERASED_SEED_TEXT, header);
}

/** Every seed a holder has, by epoch. */
function contents(h: HeldSeeds): [number, Buffer | undefined][] {
  return h.epochs().map((e) => [e, h.seed(e)]);
}

const sets: [string, string, Map<number, Buffer>][] = [
  ['one epoch', 'h', new Map([[0, seed(1)]])],
  [
    'epochs from 7 with a gap',
    'web-1',
    new Map([
      [7, seed(7)],
      [8, seed(8)],
      [10, seed(10)],
      [123456, seed(99)],
    ]),
  ],
  ['none left', 'h', new Map()],
  ['a host that JSON escapes', 'we"b\\1 é\n', new Map([[3, seed(3)]])],
];

describe('the private key file in fim layout, read lazily', () => {
  it.each(sets)('holds what the whole parse reads: %s', (_what, host, keys) => {
    const text = formatPrivateKeys(host, keys);
    const h = lazy(text);
    expect(h).not.toBeNull();
    const whole = parsePrivateKeys(text, 'p');
    expect(h!.host).toBe(whole.host);
    expect(contents(h!)).toEqual([...whole.keys].sort((a, b) => a[0] - b[0]));
  });

  it('leaves out entries erased in place, as the whole parse does', () => {
    const text = formatPrivateKeys(
      'h',
      new Map([
        [1, seed(1)],
        [2, seed(2)],
        [3, seed(3)],
      ]),
    ).replace(seed(2).toString('base64'), ERASED_SEED_TEXT);
    expect(lazy(text)!.epochs()).toEqual([1, 3]);
    expect([...parsePrivateKeys(text, 'p').keys.keys()]).toEqual([1, 3]);
  });

  it('hands out a copy, and zeroes a forgotten seed where it lies in the bytes it keeps', () => {
    const bytes = Buffer.from(
      formatPrivateKeys(
        'h',
        new Map([
          [1, seed(1)],
          [2, seed(2)],
        ]),
      ),
    );
    const h = seedLines(bytes, 'p', ERASED_SEED_TEXT, header)!;
    h.seed(1)!.fill(0);
    expect(h.seed(1)).toEqual(seed(1));
    h.forget(1);
    expect(h.epochs()).toEqual([2]);
    expect(h.seed(1)).toBeUndefined();
    expect(bytes.includes(seed(1).toString('base64'))).toBe(false);
    expect(bytes.includes(seed(2).toString('base64'))).toBe(true);
    h.forget(1);
    h.forget(5);
    expect(h.seed(2)).toEqual(seed(2));
  });

  it('refuses a seed damaged in place when its epoch is used, naming the file and the epoch', () => {
    const good = seed(2).toString('base64');
    const text = formatPrivateKeys(
      'h',
      new Map([
        [1, seed(1)],
        [2, seed(2)],
      ]),
    ).replace(good, `*${good.slice(1)}`);
    const h = lazy(text)!;
    expect(h.seed(1)).toEqual(seed(1));
    expect(() => h.seed(2)).toThrow(new KeyError('key file p: bad seed for epoch 2'));
    // The whole parse refuses it at once: the daemon decodes all at start (checkAll).
    expect(() => parsePrivateKeys(text, 'p')).toThrow(/bad seed for epoch 2/);
  });

  const base = formatPrivateKeys(
    'h',
    new Map([
      [1, seed(1)],
      [2, seed(2)],
    ]),
  );
  const s1 = seed(1).toString('base64');
  const others: [string, string][] = [
    ['spaces after the colons', base.replace('"epoch":1', '"epoch": 1')],
    ['a field in another order', base.replace(`{"epoch":1,"seed":"${s1}"}`, `{"seed":"${s1}","epoch":1}`)],
    ['an extra field', base.replace(`{"epoch":1,`, '{"epoch":1,"x":0,')],
    ['epochs out of order', base.replace('"epoch":1', '"epoch":3')],
    ['an epoch twice', base.replace('"epoch":2', '"epoch":1')],
    ['a leading zero', base.replace('"epoch":1', '"epoch":01')],
    ['a short seed', base.replace(s1, s1.slice(4))],
    ['no final newline', base.trimEnd()],
    ['text after the end', `${base}\n`],
    ['the entries on one line', base.replace(',\n{', ',{')],
  ];
  it.each(others)('gives any other layout to the whole parse: %s', (_what, text) => {
    expect(lazy(text)).toBeNull();
    // privateSeeds reads it whole: valid JSON reads as the whole parse reads it; invalid is refused.
    let whole: ReturnType<typeof parsePrivateKeys> | undefined;
    try {
      whole = parsePrivateKeys(text, 'p');
    } catch (err) {
      expect(() => privateSeeds(Buffer.from(text), 'p')).toThrow((err as Error).message);
      return;
    }
    const h = privateSeeds(Buffer.from(text), 'p');
    expect(contents(h)).toEqual([...whole.keys].sort((a, b) => a[0] - b[0]));
  });

  it('refuses a header that is not a private key file, as the whole parse does', () => {
    const text = base.replace('fim-epoch-private/1', 'fim-epoch-public/1');
    const check = (obj: unknown) => {
      if ((obj as { format: string }).format !== 'fim-epoch-private/1') throw new KeyError('not private');
      return header(obj);
    };
    expect(() => seedLines(Buffer.from(text), 'p', ERASED_SEED_TEXT, check)).toThrow('not private');
    expect(() => privateSeeds(Buffer.from(text), 'p')).toThrow(/is not a fim private key file/);
  });

  it('zeroes the bytes of a file it parsed whole', () => {
    const bytes = Buffer.from(base.replace('"epoch":1', '"epoch": 1'));
    expect(contents(privateSeeds(bytes, 'p')).map(([e]) => e)).toEqual([1, 2]);
    expect(bytes.every((b) => b === 0)).toBe(true);
  });
});
