/**
 * The public material as fim writes it (key-files.ts formatPublicMaterial: a JSON header, then one
 * certificate per line), read without decoding every certificate: a year of hourly epochs is
 * 8,808 of them, and a command uses one or two. The layout of every line is checked here (the
 * epoch in order, each field's place and length); a certificate's base64 is decoded, strictly,
 * when its epoch is asked for, and not kept. A file in any other layout (valid JSON written by
 * hand) is for the full parse in key-files.ts.
 *
 * It must not accept a layout the full parse would refuse: anything but the exact layout returns
 * null. (A certificate whose base64 is damaged in place is refused when its epoch is used.)
 */
import { KeyError } from '../errors.js';
import { decodeBase64Strict, ED25519_KEY_BYTES, ED25519_SIG_BYTES } from './ed25519.js';
import type { EpochCert, EpochCerts } from './types.js';

const CERTS_START = ',"certs":[\n';
const EPOCH = '{"epoch":';
const PUB = ',"pub":"';
const CERT = '","cert":"';
const END = '"}';
/** base64 lengths of a 32-byte key and a 64-byte signature. */
const PUB_CHARS = 44;
const CERT_CHARS = 88;

/** The header of fim's layout, as a JSON object's text (everything before the certificates); null for any other layout. */
export function certsHeader(text: string): string | null {
  const head = text.indexOf(CERTS_START);
  return head < 0 ? null : `${text.slice(0, head)}}`;
}

class LazyCerts implements EpochCerts {
  constructor(
    private readonly text: string,
    /** Where each epoch's public key starts in `text`. */
    private readonly pubAt: Int32Array,
    private readonly path: string,
  ) {}

  get length(): number {
    return this.pubAt.length;
  }

  at(epoch: number): EpochCert | undefined {
    if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch >= this.pubAt.length) return undefined;
    const p = this.pubAt[epoch]!;
    const c = p + PUB_CHARS + CERT.length;
    const pub = decodeBase64Strict(this.text.slice(p, p + PUB_CHARS), ED25519_KEY_BYTES);
    const cert = decodeBase64Strict(this.text.slice(c, c + CERT_CHARS), ED25519_SIG_BYTES);
    if (!pub || !cert) throw new KeyError(`key file ${this.path}: bad key or certificate for epoch ${epoch}`);
    return { epoch, pub, cert };
  }
}

/** The certificates of `text` in fim's own layout, `epochs` of them; null for any other layout. */
export function certLines(text: string, path: string, epochs: number): EpochCerts | null {
  const head = text.indexOf(CERTS_START);
  if (head < 0 || !Number.isSafeInteger(epochs) || epochs < 1) return null;
  const pubAt = new Int32Array(epochs);
  let pos = head + CERTS_START.length;
  for (let e = 0; e < epochs; e++) {
    if (!text.startsWith(EPOCH, pos)) return null;
    pos += EPOCH.length;
    // The epoch number, in decimal without leading zeros, must be this line's.
    const digits = String(e);
    if (!text.startsWith(digits, pos)) return null;
    pos += digits.length;
    if (!text.startsWith(PUB, pos)) return null;
    pos += PUB.length;
    pubAt[e] = pos;
    pos += PUB_CHARS;
    if (!text.startsWith(CERT, pos)) return null;
    pos += CERT.length + CERT_CHARS;
    if (!text.startsWith(END, pos)) return null;
    pos += END.length;
    const sep = e < epochs - 1 ? ',\n' : '\n]}\n';
    if (!text.startsWith(sep, pos)) return null;
    pos += sep.length;
  }
  if (pos !== text.length) return null;
  return new LazyCerts(text, pubAt, path);
}
