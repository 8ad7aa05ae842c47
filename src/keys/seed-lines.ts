/**
 * The private seeds a key store holds (`HeldSeeds`), and the reading of the private key file in
 * fim's own layout (key-files.ts formatPrivateKeys: a JSON header, then one seed per line) without
 * decoding every seed: a year of hourly epochs is 8,808 of them, and a command signs with one or
 * two. Parsed whole, they cost a command 23-28 ms and 13 MB of peak memory here (JSON.parse's
 * objects and strings, a Buffer per seed).
 *
 * The file's bytes are kept in one Buffer, so a forgotten (erased) epoch's seed is zeroed where it
 * lies: the text of a whole parse is a JS string, which nothing can wipe. Each line's layout is
 * checked at load (epochs ascending, each field's place and length); a seed's base64 is decoded,
 * strictly, when its epoch is asked for. Any other layout (valid JSON written by hand) returns null
 * and is for the full parse in key-files.ts, whose seeds `MapSeeds` holds.
 *
 * It must not accept a layout the full parse would refuse, nor hand out a forgotten seed. (A seed
 * whose base64 is damaged in place is refused when its epoch is used, as a certificate is in
 * cert-lines.ts; the daemon decodes all of them at start.)
 */
import { KeyError } from '../errors.js';
import { decodeBase64Strict, ED25519_KEY_BYTES } from './ed25519.js';

export interface HeldSeeds {
  readonly host: string;
  /** The epochs whose seeds are held, ascending. */
  epochs(): number[];
  /** The seed of `epoch`, a copy the caller may zero; undefined when not held. KeyError when damaged. */
  seed(epoch: number): Buffer | undefined;
  /** Drops `epoch`'s seed, zeroing its bytes in memory. */
  forget(epoch: number): void;
}

/** The seeds of a whole parse (a file in another layout). */
export class MapSeeds implements HeldSeeds {
  constructor(
    readonly host: string,
    private readonly keys: Map<number, Buffer>,
  ) {}

  epochs(): number[] {
    return [...this.keys.keys()].sort((a, b) => a - b);
  }

  seed(epoch: number): Buffer | undefined {
    const s = this.keys.get(epoch);
    return s ? Buffer.from(s) : undefined;
  }

  forget(epoch: number): void {
    this.keys.get(epoch)?.fill(0);
    this.keys.delete(epoch);
  }
}

const KEYS_START = Buffer.from(',"keys":[\n');
const EPOCH = Buffer.from('{"epoch":');
const SEED = Buffer.from(',"seed":"');
const END = Buffer.from('"}');
const NEXT = Buffer.from(',\n');
const LAST = Buffer.from('\n]}\n');
/** base64 length of a 32-byte seed. */
const SEED_CHARS = 44;
const ZERO = 0x30;
const NINE = 0x39;
/** Epoch numbers stay below this (2^31, so they fit the index's Int32Array). */
const MAX_EPOCH = 0x7fffffff;

/** Whether `what` is at `pos` of `bytes`. A loop, not Buffer.compare: a native call per field cost 20 ms a year. */
function at(bytes: Buffer, pos: number, what: Buffer): boolean {
  if (pos + what.length > bytes.length) return false;
  for (let i = 0; i < what.length; i++) if (bytes[pos + i] !== what[i]) return false;
  return true;
}

export class LazySeeds implements HeldSeeds {
  /** 1 where an epoch's seed was forgotten. */
  private readonly gone: Uint8Array;

  constructor(
    readonly host: string,
    /** The file's bytes, kept whole; forgotten seeds are zeroed in place. */
    private readonly bytes: Buffer,
    /** Held epochs, ascending. */
    private readonly epochList: Int32Array,
    /** Where each epoch's seed text starts in `bytes`. */
    private readonly seedAt: Int32Array,
    private readonly path: string,
  ) {
    this.gone = new Uint8Array(epochList.length);
  }

  /** The slot of `epoch` if its seed is held, else -1. */
  private index(epoch: number): number {
    let lo = 0;
    let hi = this.epochList.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = this.epochList[mid]!;
      if (e === epoch) return this.gone[mid] ? -1 : mid;
      if (e < epoch) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  epochs(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.epochList.length; i++) if (!this.gone[i]) out.push(this.epochList[i]!);
    return out;
  }

  seed(epoch: number): Buffer | undefined {
    const i = this.index(epoch);
    if (i < 0) return undefined;
    const p = this.seedAt[i]!;
    const s = decodeBase64Strict(this.bytes.toString('latin1', p, p + SEED_CHARS), ED25519_KEY_BYTES);
    if (!s) throw new KeyError(`key file ${this.path}: bad seed for epoch ${epoch}`);
    return s;
  }

  forget(epoch: number): void {
    const i = this.index(epoch);
    if (i < 0) return;
    const p = this.seedAt[i]!;
    this.bytes.fill(0, p, p + SEED_CHARS);
    this.gone[i] = 1;
  }

  /** For erase.ts: where `epoch`'s seed text starts in the file (-1 when not held). */
  seedOffset(epoch: number): number {
    const i = this.index(epoch);
    return i < 0 ? -1 : this.seedAt[i]!;
  }

  /**
   * For erase.ts: the file with only the held seeds of `epochs` (ascending), as formatPrivateKeys
   * writes it, each line copied from the file's bytes (a seed is not decoded to be rewritten). A
   * Buffer, for the caller to zero once written.
   */
  withOnly(epochs: readonly number[], header: string): Buffer {
    const lines: Buffer[] = [];
    for (const e of epochs) {
      const p = this.seedOffset(e);
      if (p < 0) continue;
      // The line runs from its '{' to the '}' after the seed: `{"epoch":N,"seed":"` before it.
      const start = this.bytes.lastIndexOf(EPOCH, p);
      lines.push(this.bytes.subarray(start, p + SEED_CHARS + END.length));
    }
    const parts: Buffer[] = [Buffer.from(header)];
    for (let i = 0; i < lines.length; i++) {
      if (i > 0) parts.push(NEXT);
      parts.push(lines[i]!);
    }
    parts.push(LAST);
    return Buffer.concat(parts);
  }
}

/** The decimal epoch number at `pos` (no sign, no leading zero): its value and end, or null. */
function epochNumber(bytes: Buffer, pos: number): { value: number; end: number } | null {
  let end = pos;
  let value = 0;
  while (end < bytes.length && bytes[end]! >= ZERO && bytes[end]! <= NINE) {
    value = value * 10 + (bytes[end]! - ZERO);
    end++;
    if (value > MAX_EPOCH) return null;
  }
  if (end === pos || (bytes[pos] === ZERO && end > pos + 1)) return null;
  return { value, end };
}

/**
 * The seeds of the private key file's `bytes` in fim's layout, holding `bytes` (the caller must not
 * reuse it); null for any other layout. `erased`: the text of an entry erased in place, skipped.
 * `header`: the full parse's check of the header object (format, host), which returns the host.
 */
export function seedLines(
  bytes: Buffer,
  path: string,
  erased: string,
  header: (obj: unknown) => string,
): LazySeeds | null {
  const head = bytes.indexOf(KEYS_START);
  if (head < 0) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(`${bytes.toString('utf8', 0, head)},"keys":[]}`);
  } catch {
    return null;
  }
  const host = header(obj);
  const erasedBytes = Buffer.from(erased, 'latin1');
  let pos = head + KEYS_START.length;
  // No entry: formatPrivateKeys writes the empty join between the two newlines.
  if (at(bytes, pos, LAST) && pos + LAST.length === bytes.length)
    return new LazySeeds(host, bytes, new Int32Array(0), new Int32Array(0), path);
  const epochs: number[] = [];
  const starts: number[] = [];
  let last = -1;
  for (;;) {
    if (!at(bytes, pos, EPOCH)) return null;
    const n = epochNumber(bytes, pos + EPOCH.length);
    if (!n || n.value <= last) return null;
    pos = n.end;
    if (!at(bytes, pos, SEED)) return null;
    pos += SEED.length;
    const seedStart = pos;
    pos += SEED_CHARS;
    if (!at(bytes, pos, END)) return null;
    pos += END.length;
    // An entry erased in place (erase.ts) is no key: skipped, as the full parse does.
    if (!at(bytes, seedStart, erasedBytes)) {
      epochs.push(n.value);
      starts.push(seedStart);
    }
    last = n.value;
    if (at(bytes, pos, NEXT)) {
      pos += NEXT.length;
      continue;
    }
    if (at(bytes, pos, LAST) && pos + LAST.length === bytes.length) break;
    return null;
  }
  return new LazySeeds(host, bytes, Int32Array.from(epochs), Int32Array.from(starts), path);
}
