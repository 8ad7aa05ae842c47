/**
 * Signatures over a baseline root. The store computes the root; this module only binds it to the
 * host, the creation time and an epoch key, and checks such a binding later, after that epoch's
 * private key is long gone (certificates and public keys stay on the host).
 *
 * What it cannot do: a verifier on the host trusts the master public key kept on the host, so an
 * intruder who is root can replace both. The log server's record of announced roots (verify-log)
 * is what catches that.
 */
import { statSync } from 'node:fs';
import { errnoCode, KeyError } from '../errors.js';
import { decodeBase64Strict, ED25519_KEY_BYTES, ED25519_SIG_BYTES, verifyRaw } from './ed25519.js';
import { readPublicMaterial } from './key-files.js';
import { checkCertificate, type EnrolledKey, epochBounds, readPublicKeyFile } from './material.js';
import type { EpochSigner, PublicMaterial } from './types.js';

export const BASELINE_SIG_FORMAT = 'fim-baseline-sig/1';
/** Allowed distance between the baseline's creation time and its signing epoch. */
export const DEFAULT_BASELINE_SKEW_MS = 120_000;

/** JSON-serialisable signature of a baseline root; store it beside the baseline. */
export interface BaselineSignature {
  format: typeof BASELINE_SIG_FORMAT;
  host: string;
  epoch: number;
  /** Epoch public key, base64. */
  epochPub: string;
  /** Master certificate of the epoch key, base64. */
  cert: string;
  /** Creation time of the baseline, nanoseconds since the Unix epoch, decimal. */
  createdNs: string;
  /** Ed25519 signature, base64. */
  sig: string;
}

function signedBytes(host: string, epoch: number, createdNs: bigint, root: Buffer): Buffer {
  return Buffer.from(
    `fim-baseline-root/1\nhost=${host}\nepoch=${epoch}\ncreated-ns=${createdNs}\nroot=${root.toString('hex')}\n`,
    'utf8',
  );
}

function insideEpoch(bounds: { startMs: number; endMs: number }, createdNs: bigint, skewMs: number): boolean {
  const ms = Number(createdNs / 1_000_000n);
  return ms >= bounds.startMs - skewMs && ms < bounds.endMs + skewMs;
}

/** Signs `root` with the given epoch signer. Throws KeyError when `createdNs` is outside its epoch. */
export function signBaselineRoot(
  signer: EpochSigner,
  root: Buffer,
  createdNs: bigint,
  skewMs = DEFAULT_BASELINE_SKEW_MS,
): BaselineSignature {
  if (!insideEpoch(signer, createdNs, skewMs)) {
    throw new KeyError(`baseline time is outside the signing epoch ${signer.epoch}: check the clock`);
  }
  const sig = signer.sign(signedBytes(signer.host, signer.epoch, createdNs, root));
  return {
    format: BASELINE_SIG_FORMAT,
    host: signer.host,
    epoch: signer.epoch,
    epochPub: signer.publicKey.toString('base64'),
    cert: signer.certificate.toString('base64'),
    createdNs: createdNs.toString(),
    sig: sig.toString('base64'),
  };
}

/** The trust anchor: a keys directory, a `<host>.pub` file, or already loaded material. */
export type BaselineTrust = string | EnrolledKey | PublicMaterial;

function loadTrust(trust: BaselineTrust): EnrolledKey | PublicMaterial {
  if (typeof trust !== 'string') return trust;
  let isDir: boolean;
  try {
    isDir = statSync(trust).isDirectory();
  } catch (err: unknown) {
    throw new KeyError(`cannot read keys at ${trust}: ${errnoCode(err) ?? String(err)}`, { cause: err });
  }
  return isDir ? readPublicMaterial(trust) : readPublicKeyFile(trust);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * True when `sig` is a valid signature of `root` by a certified epoch key of the trusted host, made
 * inside that epoch. False for anything else, malformed input included. Throws KeyError only when
 * the trust anchor itself cannot be loaded.
 */
export function verifyBaselineRoot(
  trust: BaselineTrust,
  root: Buffer,
  sig: unknown,
  skewMs = DEFAULT_BASELINE_SKEW_MS,
): boolean {
  const key = loadTrust(trust);
  if (!isRecord(sig) || sig['format'] !== BASELINE_SIG_FORMAT) return false;
  const { host, epoch, epochPub, cert, createdNs, sig: s } = sig;
  if (host !== key.host || typeof epoch !== 'number' || !Number.isSafeInteger(epoch)) return false;
  if (typeof epochPub !== 'string' || typeof cert !== 'string' || typeof s !== 'string') return false;
  if (typeof createdNs !== 'string' || !/^\d{1,30}$/.test(createdNs)) return false;
  const pub = decodeBase64Strict(epochPub, ED25519_KEY_BYTES);
  const certBuf = decodeBase64Strict(cert, ED25519_SIG_BYTES);
  const sigBuf = decodeBase64Strict(s, ED25519_SIG_BYTES);
  if (!pub || !certBuf || !sigBuf) return false;
  if (!checkCertificate(key, epoch, pub, certBuf)) return false;
  // With the full public material at hand, the epoch key must also be the one generated for it.
  if ('certs' in key) {
    const known = epoch >= 0 ? key.certs.at(epoch) : undefined;
    if (!known?.pub.equals(pub)) return false;
  }
  const created = BigInt(createdNs);
  if (!insideEpoch(epochBounds(key, epoch), created, skewMs)) return false;
  return verifyRaw(pub, signedBytes(key.host, epoch, created, root), sigBuf);
}
