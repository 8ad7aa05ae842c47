/**
 * Reading a policy or configuration file, as an intruder or a careless operator might hand it over:
 * only a regular file (a FIFO would hang the read, /dev/zero would fill memory), at most
 * MAX_TEXT_BYTES, checked on the descriptor that is read (not on a name that could be swapped in
 * between), and strict UTF-8: a byte that is not valid UTF-8 is an error with its line and
 * column, never silently replaced by U+FFFD (which would make the policy name another path).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { errnoCode, systemErrorText } from '../errors.js';

export const MAX_TEXT_BYTES = 4 << 20;

export type TextFile = { ok: true; text: string } | { ok: false; problem: string; code?: string };

export function readTextFile(file: string): TextFile {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return { ok: false, problem: `cannot read: ${systemErrorText(err)}`, code: errnoCode(err) ?? 'EIO' };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      return { ok: false, problem: 'not a regular file (a FIFO, device or directory is refused)' };
    if (st.size > MAX_TEXT_BYTES)
      return { ok: false, problem: `too large (${st.size} bytes; at most ${MAX_TEXT_BYTES})` };
    // Read at most one byte more than the limit: a file that grows meanwhile is refused too.
    const buf = Buffer.allocUnsafe(Math.min(MAX_TEXT_BYTES, st.size) + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n === buf.length) {
        if (n > MAX_TEXT_BYTES)
          return { ok: false, problem: `too large (more than ${MAX_TEXT_BYTES} bytes)` };
        return { ok: false, problem: 'changed while being read' };
      }
    }
    return decodeStrict(buf.subarray(0, n));
  } catch (err) {
    return { ok: false, problem: `cannot read: ${systemErrorText(err)}`, code: errnoCode(err) ?? 'EIO' };
  } finally {
    closeSync(fd);
  }
}

const strict = new TextDecoder('utf-8', { fatal: true });

/** The text, or where its first byte that is not valid UTF-8 sits. */
export function decodeStrict(bytes: Uint8Array): TextFile {
  try {
    return { ok: true, text: strict.decode(bytes) };
  } catch {
    const at = firstInvalidByte(bytes);
    let line = 1;
    let col = 1;
    for (let i = 0; i < at; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        col = 1;
      } else if (((bytes[i] ?? 0) & 0xc0) !== 0x80) col++;
    }
    const hex = (bytes[at] ?? 0).toString(16).padStart(2, '0');
    return {
      ok: false,
      problem: `${line}:${col}: byte \\x${hex} is not valid UTF-8 (policies and the configuration are UTF-8 text)`,
    };
  }
}

function firstInvalidByte(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    const n =
      c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n === 0 || i + n > b.length) return i;
    for (let k = 1; k < n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    // The second byte's range for E0, ED, F0, F4 (overlong forms, surrogates, beyond U+10FFFF).
    const d = b[i + 1] ?? 0;
    if (
      (c === 0xe0 && d < 0xa0) ||
      (c === 0xed && d > 0x9f) ||
      (c === 0xf0 && d < 0x90) ||
      (c === 0xf4 && d > 0x8f)
    )
      return i;
    i += n;
  }
  return b.length;
}
