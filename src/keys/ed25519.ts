/**
 * Raw Ed25519 keys on top of node:crypto. Owns the conversion between the 32-byte raw forms kept in
 * our files and messages and node's KeyObjects; it never stores anything. KeyObjects for public keys
 * are cached (bounded, least recently used dropped first) because building one costs as much as a
 * verify, on the main thread (measured ~90 us each here), and would dominate verify-log's cost.
 */
import {
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';

// DER prefixes of an Ed25519 PKCS#8 private key and SPKI public key (RFC 8410): the raw 32 bytes follow.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export const ED25519_KEY_BYTES = 32;
export const ED25519_SIG_BYTES = 64;

export interface RawKeyPair {
  /** The 32-byte private seed. */
  seed: Buffer;
  /** The 32-byte public key. */
  pub: Buffer;
  privateKey: KeyObject;
}

export function generateRawKeyPair(): RawKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
  return { seed: Buffer.from(seed), pub: Buffer.from(pub), privateKey };
}

export function privateKeyFromSeed(seed: Buffer): KeyObject {
  if (seed.length !== ED25519_KEY_BYTES) throw new Error('Ed25519 seed must be 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

const publicCache = new Map<string, KeyObject>();
/**
 * One epoch key per host in a fleet of 10,000 and some room (~0.7 KB each, ~11 MB when full).
 * Hosts are heard in turn, so a cache smaller than the fleet misses every time: 4096 made every
 * message of a 10,000-host log server build its key again.
 */
const PUBLIC_CACHE_MAX = 16_384;

/** A KeyObject for a raw public key; throws on a malformed key. */
export function publicKeyFromRaw(pub: Buffer): KeyObject {
  if (pub.length !== ED25519_KEY_BYTES) throw new Error('Ed25519 public key must be 32 bytes');
  const id = pub.toString('base64');
  const hit = publicCache.get(id);
  if (hit) {
    // Most recently used last: the first entry is the one to drop.
    publicCache.delete(id);
    publicCache.set(id, hit);
    return hit;
  }
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
  if (publicCache.size >= PUBLIC_CACHE_MAX) {
    const oldest = publicCache.keys().next().value;
    if (oldest !== undefined) publicCache.delete(oldest);
  }
  publicCache.set(id, key);
  return key;
}

export function signRaw(key: KeyObject, data: Buffer): Buffer {
  return cryptoSign(null, data, key);
}

/** True only for a valid signature; malformed keys or signatures are false, never an exception. */
export function verifyRaw(pub: Buffer, data: Buffer, sig: Buffer): boolean {
  if (pub.length !== ED25519_KEY_BYTES || sig.length !== ED25519_SIG_BYTES) return false;
  try {
    return cryptoVerify(null, data, publicKeyFromRaw(pub), sig);
  } catch {
    return false;
  }
}

/**
 * verifyRaw on libuv's thread pool: node:crypto runs a verify given a callback off the main
 * thread, which lets verify-log check signatures on every core while the main thread parses.
 */
export function verifyRawAsync(pub: Buffer, data: Buffer, sig: Buffer): Promise<boolean> {
  if (pub.length !== ED25519_KEY_BYTES || sig.length !== ED25519_SIG_BYTES) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      cryptoVerify(null, data, publicKeyFromRaw(pub), sig, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

/** Strict base64 decoding: node's decoder silently skips junk, which would let two strings name one key. */
export function decodeBase64Strict(text: string, bytes: number): Buffer | null {
  // The canonical encoding's length first, then the round trip, which alone refuses what a regular
  // expression over the alphabet would (Node's decoder skips or accepts other characters, so their
  // re-encoding differs) at a fraction of its cost: a key file holds thousands of these, and each
  // signed message three.
  if (text.length !== 4 * Math.ceil(bytes / 3)) return null;
  const buf = Buffer.from(text, 'base64');
  if (buf.length !== bytes || buf.toString('base64') !== text) return null;
  return buf;
}
