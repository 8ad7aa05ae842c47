/**
 * The digests of a session's most recent messages (a later start's claim names its predecessor's
 * last message by digest: chain.ts), by sequence number, oldest dropped first past a bound. Kept
 * as 40-byte binary entries (the sequence number, then the SHA-256) in one byte array that grows
 * as it fills: a fleet verifier holds one of these per host, and a Map of hex strings cost about
 * 1.4 KB for a dozen messages, against about 0.7 KB here. It stores; it must not judge anything.
 */

const DIGEST_BYTES = 32;
const ENTRY = 8 + DIGEST_BYTES;
/** Entries added per growth: a short one-shot session stays small. */
const GROWTH = 4;
const TWO_32 = 2 ** 32;
const HEX_RE = /^[0-9a-f]{64}$/;

export class RecentDigests {
  private bytes: Uint8Array | null = null;
  private count = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.count;
  }

  /**
   * Remembers the digest (64 lowercase hex characters, as alert/sd.ts messageDigest writes) of
   * message `seq`; false, and nothing kept, when it is not one. Past the bound the oldest goes.
   */
  set(seq: number, hex: string): boolean {
    if (!HEX_RE.test(hex) || !Number.isSafeInteger(seq) || seq < 0) return false;
    if (this.count === this.max) {
      const b = this.bytes as Uint8Array;
      b.copyWithin(0, ENTRY, this.count * ENTRY);
      this.count--;
    }
    const cap = this.bytes === null ? 0 : this.bytes.length / ENTRY;
    if (this.count === cap) {
      const grown = new Uint8Array(Math.min(this.max, cap + GROWTH) * ENTRY);
      if (this.bytes) grown.set(this.bytes);
      this.bytes = grown;
    }
    const b = this.bytes as Uint8Array;
    const at = this.count * ENTRY;
    const view = new DataView(b.buffer, b.byteOffset + at, ENTRY);
    view.setUint32(0, Math.floor(seq / TWO_32));
    view.setUint32(4, seq % TWO_32);
    b.set(Buffer.from(hex, 'hex'), at + 8);
    this.count++;
    return true;
  }

  /** The digest of message `seq` (hex), if it is among the ones kept. */
  get(seq: number): string | undefined {
    // Newest first: a claim names its predecessor's last message.
    for (let i = this.count - 1; i >= 0; i--) if (this.seqAt(i) === seq) return this.hexAt(i);
    return undefined;
  }

  /** Oldest first, as [seq, hex] (the state file's form). */
  entries(): [number, string][] {
    const out: [number, string][] = [];
    for (let i = 0; i < this.count; i++) out.push([this.seqAt(i), this.hexAt(i)]);
    return out;
  }

  private seqAt(i: number): number {
    const b = this.bytes as Uint8Array;
    const view = new DataView(b.buffer, b.byteOffset + i * ENTRY, 8);
    return view.getUint32(0) * TWO_32 + view.getUint32(4);
  }

  private hexAt(i: number): string {
    const b = this.bytes as Uint8Array;
    return Buffer.from(b.buffer, b.byteOffset + i * ENTRY + 8, DIGEST_BYTES).toString('hex');
  }
}
