/**
 * The display form of untrusted bytes (paths, link targets): UTF-8 as is, except that `\` becomes
 * `\\`, control characters become `\n`, `\t`, `\r` or `\xHH`, and bytes that are not valid UTF-8
 * become `\xHH`. The form is reversible and always one line, so a file name can never start a new
 * report or log line. JSON carries the raw bytes beside it as base64.
 */
import type { Who } from './types.js';

const HEX = '0123456789abcdef';

function hexEscape(byte: number): string {
  return `\\x${HEX[byte >> 4]}${HEX[byte & 15]}`;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the bytes there are not one. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  let n: number;
  let min: number;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > b.length) return 0;
  let cp = c & (0xff >> (n + 1));
  for (let k = 1; k < n; k++) {
    const cc = b[i + k]!;
    if ((cc & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not valid UTF-8.
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

/** Code points that are printable in UTF-8 but would break a line or a terminal. */
function isUnsafeCodePoint(cp: number): boolean {
  return (
    cp === 0x85 || // NEL
    (cp >= 0x80 && cp <= 0x9f) || // C1 controls
    cp === 0x2028 || // LINE SEPARATOR
    cp === 0x2029 || // PARAGRAPH SEPARATOR
    (cp >= 0x202a && cp <= 0x202e) || // bidi embedding/override: could disguise a name
    (cp >= 0x2066 && cp <= 0x2069) || // bidi isolates
    isInvisibleCodePoint(cp)
  );
}

/**
 * Code points that print as nothing, or reorder text, so that two different names look the same
 * (Trojan Source, CVE-2021-42574/42694): zero-width characters and joiners, bidi marks, the
 * soft hyphen, invisible fillers and operators, variation selectors and tags.
 */
function isInvisibleCodePoint(cp: number): boolean {
  return (
    cp === 0xad || // SOFT HYPHEN
    cp === 0x34f || // COMBINING GRAPHEME JOINER
    cp === 0x61c || // ARABIC LETTER MARK
    cp === 0x115f ||
    cp === 0x1160 || // HANGUL CHOSEONG/JUNGSEONG FILLER
    cp === 0x17b4 ||
    cp === 0x17b5 || // KHMER invisible vowels
    cp === 0x180e || // MONGOLIAN VOWEL SEPARATOR
    (cp >= 0x200b && cp <= 0x200f) || // zero width space, non-joiner, joiner; LRM, RLM
    (cp >= 0x2060 && cp <= 0x2064) || // word joiner, invisible operators
    cp === 0x3164 || // HANGUL FILLER
    (cp >= 0xfe00 && cp <= 0xfe0f) || // variation selectors
    cp === 0xfeff || // ZERO WIDTH NO-BREAK SPACE (BOM)
    cp === 0xffa0 || // HALFWIDTH HANGUL FILLER
    (cp >= 0xfff0 && cp <= 0xfffb) || // specials, interlinear annotation
    (cp >= 0xe0000 && cp <= 0xe007f) || // tags
    (cp >= 0xe0100 && cp <= 0xe01ef) // variation selectors supplement
  );
}

/**
 * A message (ours, or one that embeds another library's text) made safe to print on one line:
 * raw control characters, C1 controls and invisible or bidi code points become `\xHH` escapes.
 * Unlike displayBytes it leaves backslashes alone, so a path already in display form inside the
 * message is not escaped twice.
 */
export function safeMessage(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || cp === 0x7f || isUnsafeCodePoint(cp)) {
      for (const b of Buffer.from(ch, 'utf8')) out += hexEscape(b);
    } else out += ch;
  }
  return out;
}

export function displayBytes(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i]!;
    if (c < 0x80) {
      if (c === 0x5c) out += '\\\\';
      else if (c === 0x0a) out += '\\n';
      else if (c === 0x09) out += '\\t';
      else if (c === 0x0d) out += '\\r';
      else if (c < 0x20 || c === 0x7f) out += hexEscape(c);
      else out += String.fromCharCode(c);
      i++;
      continue;
    }
    const n = utf8SequenceLength(bytes, i);
    if (n === 0) {
      out += hexEscape(c);
      i++;
      continue;
    }
    const text = Buffer.from(bytes.subarray(i, i + n)).toString('utf8');
    const cp = text.codePointAt(0)!;
    if (isUnsafeCodePoint(cp)) {
      for (let k = 0; k < n; k++) out += hexEscape(bytes[i + k]!);
    } else {
      out += text;
    }
    i += n;
  }
  return out;
}

/** Inverse of displayBytes. Throws on a malformed escape. */
export function parseDisplay(text: string): Buffer {
  const parts: Buffer[] = [];
  let plain = '';
  const flush = () => {
    if (plain) parts.push(Buffer.from(plain, 'utf8'));
    plain = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\') {
      plain += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === '\\') plain += '\\';
    else if (next === 'n') plain += '\n';
    else if (next === 't') plain += '\t';
    else if (next === 'r') plain += '\r';
    else if (next === 'x' && /^[0-9a-f]{2}$/.test(text.slice(i + 2, i + 4))) {
      flush();
      parts.push(Buffer.from([Number.parseInt(text.slice(i + 2, i + 4), 16)]));
      i += 3;
      continue;
    } else throw new Error(`malformed escape at offset ${i} in display path`);
    i++;
  }
  flush();
  return Buffer.concat(parts);
}

/**
 * The one-line form of a writing process (the alert's `who` parameter, the daemon's log line): its
 * text fields are display form already; the alert escapes them again as SD text.
 */
export function whoText(w: Who): string {
  const parts: string[] = [];
  if (w.exited) parts.push('exited');
  parts.push(`pid=${w.pid}`);
  if (w.uid !== undefined) parts.push(`uid=${w.uid}`);
  if (w.loginuid !== undefined) parts.push(`auid=${w.loginuid === 4294967295 ? 'unset' : w.loginuid}`);
  if (w.ppid !== undefined) parts.push(`ppid=${w.ppid}`);
  if (w.container) parts.push(`container=${w.container.slice(0, 12)}`);
  if (w.exe !== undefined) parts.push(`exe=${w.exe}`);
  if (w.pexe !== undefined) parts.push(`pexe=${w.pexe}`);
  if (w.cgroup !== undefined) parts.push(`cgroup=${w.cgroup}`);
  if (w.cmdline) parts.push(`cmd=${w.cmdline.join(' ')}`);
  return parts.join(' ');
}
