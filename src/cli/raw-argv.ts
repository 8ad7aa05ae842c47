/**
 * Command-line arguments as the bytes they are. Node decodes argv as UTF-8, lossily: a path named
 * `b\xff` arrives as `b\ufffd`, names another file (or none), and two different names can arrive
 * the same. The exact bytes are in /proc/self/cmdline; an argument that did not survive the
 * decoding is replaced, before commander sees it, by a placeholder that no real argument can be
 * (it holds a NUL), and `pathArg` turns a placeholder back into its bytes.
 */
import { readFileSync } from 'node:fs';

const MARK = '\u0000fim-arg:';

export interface RawArgs {
  argv: string[];
  bytes: ReadonlyMap<string, Buffer>;
}

/** `argv` as process.argv gives it; `cmdline` the raw /proc/self/cmdline (for tests). */
export function rawArgs(argv: readonly string[], cmdline?: Buffer): RawArgs {
  const bytes = new Map<string, Buffer>();
  let raw: Buffer;
  try {
    raw = cmdline ?? readFileSync('/proc/self/cmdline');
  } catch {
    return { argv: [...argv], bytes };
  }
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0) {
      parts.push(raw.subarray(start, i));
      start = i + 1;
    }
  }
  // process.argv is [node, script, ...args]; cmdline is [node, ...node flags, script, ...args]: the
  // user's arguments are the tails of both.
  const n = argv.length - 2;
  if (n <= 0 || parts.length < n) return { argv: [...argv], bytes };
  const tail = parts.slice(parts.length - n);
  const out = [...argv];
  for (let i = 0; i < n; i++) {
    const s = argv[2 + i] ?? '';
    const b = tail[i] ?? Buffer.alloc(0);
    if (Buffer.from(s, 'utf8').equals(b)) continue;
    // Only an argument the decoding changed (its bytes were not UTF-8) gets a placeholder.
    if (Buffer.from(b.toString('utf8'), 'utf8').equals(b)) continue;
    const key = `${MARK}${i}\u0000`;
    bytes.set(key, Buffer.from(b));
    out[2 + i] = key;
  }
  return { argv: out, bytes };
}

let current: ReadonlyMap<string, Buffer> = new Map();

/** Remember the placeholders of this run (set once by main). */
export function useRawArgs(r: RawArgs): void {
  current = r.bytes;
}

/** A path argument's bytes: the raw ones behind a placeholder, else its UTF-8. */
export function pathArg(s: string): Buffer {
  return current.get(s) ?? Buffer.from(s, 'utf8');
}

/** Whether a string is a placeholder (an option value that is not UTF-8). */
export function isRawPlaceholder(s: string): boolean {
  return s.startsWith(MARK);
}
