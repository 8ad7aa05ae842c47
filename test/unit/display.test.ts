/**
 * The display form of untrusted bytes (design.md, "What a scan records"): UTF-8 as is, `\` doubled,
 * control characters as `\n` `\t` `\r` or `\xHH`, bytes that are not valid UTF-8 as `\xHH`;
 * reversible and always one line. Table of the byte sequences that matter, then properties over
 * random bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { displayBytes, parseDisplay, safeMessage } from '../../src/display.js';

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const u = (s: string): Buffer => Buffer.from(s, 'utf8');

interface Row {
  what: string;
  bytes: Buffer;
  shown: string;
}

// `shown` is the exact display text; String.raw keeps the backslashes literal.
const TABLE: Row[] = [
  // ASCII
  { what: 'plain ASCII', bytes: u('/etc/passwd'), shown: '/etc/passwd' },
  { what: 'space and tilde are printable', bytes: u('a b~'), shown: 'a b~' },
  { what: 'empty', bytes: b(), shown: '' },
  { what: 'backslash', bytes: u('a\\b'), shown: String.raw`a\\b` },
  { what: 'two backslashes', bytes: u('\\\\'), shown: String.raw`\\\\` },
  { what: 'backslash followed by n is not a newline', bytes: u('\\n'), shown: String.raw`\\n` },
  { what: 'backslash followed by x41', bytes: u('\\x41'), shown: String.raw`\\x41` },
  { what: 'newline', bytes: u('a\nb'), shown: String.raw`a\nb` },
  { what: 'tab', bytes: u('a\tb'), shown: String.raw`a\tb` },
  { what: 'carriage return', bytes: u('a\rb'), shown: String.raw`a\rb` },
  { what: 'NUL', bytes: b(0x00), shown: String.raw`\x00` },
  { what: 'SOH', bytes: b(0x01), shown: String.raw`\x01` },
  { what: 'backspace', bytes: b(0x08), shown: String.raw`\x08` },
  { what: 'vertical tab', bytes: b(0x0b), shown: String.raw`\x0b` },
  { what: 'form feed', bytes: b(0x0c), shown: String.raw`\x0c` },
  { what: 'ESC (terminal escapes)', bytes: u('\x1b[31mred'), shown: String.raw`\x1b[31mred` },
  { what: 'unit separator 0x1f', bytes: b(0x1f), shown: String.raw`\x1f` },
  { what: 'DEL', bytes: b(0x7f), shown: String.raw`\x7f` },
  // bytes that are not UTF-8
  { what: 'lone 0xff', bytes: b(0xff), shown: String.raw`\xff` },
  { what: 'lone 0xfe', bytes: b(0xfe), shown: String.raw`\xfe` },
  { what: '0xff.py', bytes: b(0xff, 0x2e, 0x70, 0x79), shown: String.raw`\xff.py` },
  { what: 'lone continuation byte 0x80', bytes: b(0x80), shown: String.raw`\x80` },
  { what: 'lone continuation byte 0xbf', bytes: b(0xbf), shown: String.raw`\xbf` },
  { what: 'truncated 2-byte sequence', bytes: b(0xc3), shown: String.raw`\xc3` },
  { what: 'truncated 2-byte sequence then ASCII', bytes: b(0xc3, 0x41), shown: String.raw`\xc3A` },
  { what: 'truncated 3-byte sequence', bytes: b(0xe2, 0x82), shown: String.raw`\xe2\x82` },
  { what: 'truncated 4-byte sequence', bytes: b(0xf0, 0x9f, 0x98), shown: String.raw`\xf0\x9f\x98` },
  {
    what: 'lead byte 0xf5 (beyond U+10FFFF)',
    bytes: b(0xf5, 0x80, 0x80, 0x80),
    shown: String.raw`\xf5\x80\x80\x80`,
  },
  { what: 'U+110000 encoded', bytes: b(0xf4, 0x90, 0x80, 0x80), shown: String.raw`\xf4\x90\x80\x80` },
  // overlong encodings
  { what: 'overlong NUL (C0 80)', bytes: b(0xc0, 0x80), shown: String.raw`\xc0\x80` },
  { what: 'overlong slash (C0 AF)', bytes: b(0xc0, 0xaf), shown: String.raw`\xc0\xaf` },
  { what: 'overlong 0x7f (C1 BF)', bytes: b(0xc1, 0xbf), shown: String.raw`\xc1\xbf` },
  { what: 'overlong 3-byte slash', bytes: b(0xe0, 0x80, 0xaf), shown: String.raw`\xe0\x80\xaf` },
  { what: 'overlong 3-byte U+07FF', bytes: b(0xe0, 0x9f, 0xbf), shown: String.raw`\xe0\x9f\xbf` },
  { what: 'overlong 4-byte slash', bytes: b(0xf0, 0x80, 0x80, 0xaf), shown: String.raw`\xf0\x80\x80\xaf` },
  { what: 'overlong 4-byte U+FFFF', bytes: b(0xf0, 0x8f, 0xbf, 0xbf), shown: String.raw`\xf0\x8f\xbf\xbf` },
  // UTF-16 surrogates encoded in UTF-8 (CESU-8 style) are not valid UTF-8
  { what: 'high surrogate U+D800', bytes: b(0xed, 0xa0, 0x80), shown: String.raw`\xed\xa0\x80` },
  { what: 'low surrogate U+DFFF', bytes: b(0xed, 0xbf, 0xbf), shown: String.raw`\xed\xbf\xbf` },
  {
    what: 'surrogate pair encoded separately',
    bytes: b(0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80),
    shown: String.raw`\xed\xa0\xbd\xed\xb8\x80`,
  },
  { what: 'U+D7FF just below the surrogates is valid', bytes: u('\ud7ff'), shown: '\ud7ff' },
  { what: 'U+E000 just above the surrogates is valid', bytes: u('\ue000'), shown: '\ue000' },
  // C1 controls (valid UTF-8, but they act as controls on terminals)
  { what: 'C1 U+0080', bytes: b(0xc2, 0x80), shown: String.raw`\xc2\x80` },
  { what: 'NEL U+0085 (a line break)', bytes: b(0xc2, 0x85), shown: String.raw`\xc2\x85` },
  { what: 'CSI U+009B', bytes: b(0xc2, 0x9b), shown: String.raw`\xc2\x9b` },
  { what: 'C1 U+009F', bytes: b(0xc2, 0x9f), shown: String.raw`\xc2\x9f` },
  { what: 'NBSP U+00A0 just past C1 is kept', bytes: b(0xc2, 0xa0), shown: '\u00a0' },
  // Unicode line breaks and bidi controls
  { what: 'LINE SEPARATOR U+2028', bytes: u('a\u2028b'), shown: String.raw`a\xe2\x80\xa8b` },
  { what: 'PARAGRAPH SEPARATOR U+2029', bytes: u('\u2029'), shown: String.raw`\xe2\x80\xa9` },
  { what: 'LRE U+202A', bytes: u('\u202a'), shown: String.raw`\xe2\x80\xaa` },
  {
    what: 'RLO U+202E (the "exe.txt" trick)',
    bytes: u('a\u202etxt.exe'),
    shown: String.raw`a\xe2\x80\xaetxt.exe`,
  },
  { what: 'LRI U+2066', bytes: u('\u2066'), shown: String.raw`\xe2\x81\xa6` },
  { what: 'PDI U+2069', bytes: u('\u2069'), shown: String.raw`\xe2\x81\xa9` },
  // valid multibyte text is kept as is
  { what: 'Latin-1 letter (2 bytes)', bytes: u('café.py'), shown: 'café.py' },
  { what: 'combining accent kept as decomposed', bytes: u('cafe\u0301'), shown: 'cafe\u0301' },
  { what: 'euro sign (3 bytes)', bytes: u('€'), shown: '€' },
  { what: 'CJK', bytes: u('/srv/日本語/ファイル'), shown: '/srv/日本語/ファイル' },
  { what: 'emoji (4 bytes)', bytes: u('😀'), shown: '😀' },
  { what: 'U+10FFFF, the last code point', bytes: u('\u{10ffff}'), shown: '\u{10ffff}' },
  { what: 'valid UTF-8 then an invalid byte', bytes: b(0xc3, 0xa9, 0xff), shown: String.raw`é\xff` },
  { what: 'invalid byte then valid UTF-8', bytes: b(0xff, 0xc3, 0xa9), shown: String.raw`\xffé` },
];

describe('displayBytes: escaping table', () => {
  it.each(TABLE)('$what', ({ bytes, shown }) => {
    expect(displayBytes(bytes)).toBe(shown);
  });

  it.each(TABLE)('$what: parseDisplay gives the bytes back', ({ bytes, shown }) => {
    expect(parseDisplay(shown).equals(bytes)).toBe(true);
  });

  it('accepts a plain Uint8Array, not only a Buffer', () => {
    expect(displayBytes(new Uint8Array([0x61, 0x0a, 0xff]))).toBe(String.raw`a\n\xff`);
  });

  it('shows \\xff.py and \\xfe.py differently, and differently from U+FFFD', () => {
    const ff = displayBytes(b(0xff, 0x2e, 0x70, 0x79));
    const fe = displayBytes(b(0xfe, 0x2e, 0x70, 0x79));
    const replacement = displayBytes(u('\ufffd.py'));
    expect(ff).not.toBe(fe);
    expect(ff).not.toBe(replacement);
    expect(fe).not.toBe(replacement);
    expect(replacement).toBe('\ufffd.py');
  });

  it('never confuses a literal "\\x41" name with the byte "A"', () => {
    expect(displayBytes(u('\\x41'))).not.toBe(displayBytes(u('A')));
    expect(parseDisplay(displayBytes(u('\\x41'))).toString('latin1')).toBe('\\x41');
  });
});

describe('parseDisplay: malformed escapes are refused', () => {
  it.each([
    ['trailing backslash', 'abc\\'],
    ['unknown escape', String.raw`\q`],
    ['short hex', String.raw`\x4`],
    ['upper-case hex is not produced, so not accepted', String.raw`\xFF`],
    ['non-hex digits', String.raw`\xzz`],
    ['\\u escapes are not part of the form', String.raw`\u00e9`],
  ])('%s', (_what, text) => {
    expect(() => parseDisplay(text)).toThrow(/malformed escape/);
  });
});

/** Byte strings biased towards the interesting cases: random bytes, UTF-8 text and edge sequences. */
const EDGE_SEQUENCES: number[][] = [
  [0x5c],
  [0x0a],
  [0x0d],
  [0x09],
  [0x00],
  [0x7f],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xc2, 0x85],
  [0xe2, 0x80, 0xa8],
  [0xe2, 0x80, 0xae],
  [0xe2, 0x81, 0xa6],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf0, 0x9f, 0x98, 0x80],
  [0xc3],
  [0xe2, 0x82],
  [0xff],
  [0x78, 0x34, 0x31],
];
const interestingBytes: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
      fc.string({ unit: 'binary', maxLength: 6 }).map((s) => Buffer.from(s, 'utf8')),
      fc.constantFrom(...EDGE_SEQUENCES).map((s) => Buffer.from(s)),
    ),
    { maxLength: 12 },
  )
  .map((parts) => Buffer.concat(parts));
const randomBytes: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
const anyBytes = fc.oneof(randomBytes, interestingBytes);

/** Code points a display string must never contain raw. */
function unsafeChar(cp: number): boolean {
  return (
    cp < 0x20 ||
    cp === 0x7f ||
    (cp >= 0x80 && cp <= 0x9f) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    (cp >= 0xd800 && cp <= 0xdfff) ||
    invisible(cp)
  );
}

/** Code points that print as nothing or reorder text (lookalike names): never raw either. */
function invisible(cp: number): boolean {
  return (
    [0xad, 0x34f, 0x61c, 0x115f, 0x1160, 0x17b4, 0x17b5, 0x180e, 0x3164, 0xfeff, 0xffa0].includes(cp) ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x2060 && cp <= 0x2064) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0xfff0 && cp <= 0xfffb) ||
    (cp >= 0xe0000 && cp <= 0xe007f) ||
    (cp >= 0xe0100 && cp <= 0xe01ef)
  );
}

describe('displayBytes: properties', () => {
  it('parseDisplay(displayBytes(b)) gives back exactly b', () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        expect(parseDisplay(displayBytes(bytes)).equals(bytes)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('is injective: different bytes never display the same', () => {
    fc.assert(
      fc.property(anyBytes, anyBytes, (x, y) => {
        fc.pre(!x.equals(y));
        expect(displayBytes(x)).not.toBe(displayBytes(y));
      }),
      { numRuns: 1000 },
    );
  });

  it('never contains a control character, DEL, a C1 control, a line separator or a bidi control', () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        const shown = displayBytes(bytes);
        for (const ch of shown) {
          const cp = ch.codePointAt(0)!;
          if (unsafeChar(cp)) throw new Error(`U+${cp.toString(16)} in ${JSON.stringify(shown)}`);
        }
        expect(shown.split(/\r\n|\r|\n|\u2028|\u2029|\u0085/)).toHaveLength(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('is valid UTF-8 text: survives a round trip through a Buffer', () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        const shown = displayBytes(bytes);
        expect(Buffer.from(shown, 'utf8').toString('utf8')).toBe(shown);
        expect(Buffer.from(shown, 'utf8').includes(Buffer.from('\ufffd', 'utf8'))).toBe(
          bytes.includes(Buffer.from('\ufffd', 'utf8')),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('uses only the escapes \\\\ \\n \\t \\r \\xHH', () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        const shown = displayBytes(bytes);
        const stripped = shown.replace(/\\(?:\\|n|t|r|x[0-9a-f]{2})/g, '');
        expect(stripped).not.toContain('\\');
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves printable UTF-8 text unchanged', () => {
    const printable = fc
      .string({ unit: 'binary', maxLength: 40 })
      .map((s) => [...s].filter((ch) => !unsafeChar(ch.codePointAt(0)!) && ch !== '\\').join(''));
    fc.assert(
      fc.property(printable, (s) => {
        expect(displayBytes(Buffer.from(s, 'utf8'))).toBe(s);
      }),
      { numRuns: 1000 },
    );
  });

  it('escapes every single non-ASCII byte that is not part of a valid sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0x80, max: 0xff }), (byte) => {
        // Alone, no byte >= 0x80 is valid UTF-8.
        expect(displayBytes(b(byte))).toBe(`\\x${byte.toString(16).padStart(2, '0')}`);
      }),
      { numRuns: 128 },
    );
  });
});

describe('lookalike names (Trojan Source)', () => {
  /** Code points that print as nothing or reorder text: Unicode's Default_Ignorable and bidi controls. */
  const INVISIBLE = [
    0xad, 0x34f, 0x61c, 0x115f, 0x1160, 0x17b4, 0x17b5, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f,
    0x202a, 0x202e, 0x2060, 0x2064, 0x2066, 0x2069, 0x3164, 0xfe00, 0xfe0f, 0xfeff, 0xffa0, 0xe0001, 0xe007f,
    0xe0100,
  ];

  it.each(INVISIBLE)('U+%s is escaped, never printed raw', (cp) => {
    const name = Buffer.from(`/srv/app/tasks${String.fromCodePoint(cp)}.py`, 'utf8');
    const shown = displayBytes(name);
    expect([...shown].some((ch) => ch.codePointAt(0) === cp)).toBe(false);
    expect(shown).toMatch(/^\/srv\/app\/tasks(\\x[0-9a-f]{2})+\.py$/);
    expect(parseDisplay(shown).equals(name)).toBe(true);
  });

  it('two names that differ only by an invisible character never look the same', () => {
    fc.assert(
      fc.property(fc.constantFrom(...INVISIBLE), fc.string({ maxLength: 8 }), (cp, base) => {
        const a = Buffer.from(`/x/${base}`, 'utf8');
        const b = Buffer.from(`/x/${base}${String.fromCodePoint(cp)}`, 'utf8');
        expect(displayBytes(a)).not.toBe(displayBytes(b));
        // And the difference is visible: printable ASCII in the escape.
        expect(displayBytes(b).length).toBeGreaterThan(displayBytes(a).length + 3);
      }),
    );
  });

  it('over every code point: the display is one printable line that gives the bytes back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x10ffff }), (cp) => {
        fc.pre(cp < 0xd800 || cp > 0xdfff);
        const bytes = Buffer.from(String.fromCodePoint(cp), 'utf8');
        const shown = displayBytes(bytes);
        expect(parseDisplay(shown).equals(bytes)).toBe(true);
        for (const ch of shown)
          expect(INVISIBLE.includes(ch.codePointAt(0)!) || ch.codePointAt(0)! < 0x20).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('safeMessage', () => {
  it('escapes raw control and invisible characters in a message, and leaves display-form text alone', () => {
    expect(safeMessage("EACCES: permission denied, open '/proc/self/fd/12/e\x1b[31mX\x07'")).toBe(
      "EACCES: permission denied, open '/proc/self/fd/12/e\\x1b[31mX\\x07'",
    );
    expect(safeMessage('path /a/e\\x1b already in display form')).toBe(
      'path /a/e\\x1b already in display form',
    );
    expect(safeMessage('a\u202eb\u200bc')).toBe('a\\xe2\\x80\\xaeb\\xe2\\x80\\x8bc');
  });
});
