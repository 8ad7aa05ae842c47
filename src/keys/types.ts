/**
 * The shapes of the host's keys, shared by the key files, generation and the forward-secure store.
 * Types only: no code, no file names, no formats, so that importing a type never pulls in a module
 * that touches private keys.
 */
import type { EnrolledKey } from './material.js';

/** One certified epoch public key. */
export interface EpochCert {
  epoch: number;
  pub: Buffer;
  cert: Buffer;
}

/**
 * The epoch certificates by epoch: an array (a new key set), or those of a key file, decoded one
 * at a time when asked for (keys/cert-lines.ts).
 */
export interface EpochCerts {
  readonly length: number;
  at(epoch: number): EpochCert | undefined;
}

/** Everything public the host keeps: the enrolment plus every epoch key and certificate. */
export interface PublicMaterial extends EnrolledKey {
  certs: EpochCerts;
}

/** Signs with one epoch's key. After the epoch's key is erased, `sign` throws. */
export interface EpochSigner {
  readonly host: string;
  readonly epoch: number;
  readonly startMs: number;
  readonly endMs: number;
  /** Raw 32-byte epoch public key. */
  readonly publicKey: Buffer;
  /** The master's 64-byte signature certifying `publicKey` for this host and epoch. */
  readonly certificate: Buffer;
  sign(data: Buffer): Buffer;
}

/** Anything that hands out the signer for a moment: the key store, or a fake in tests. */
export interface SignerSource {
  readonly host: string;
  currentSigner(now?: number | Date): EpochSigner;
}

export interface KeyStore extends SignerSource {
  readonly dir: string;
  readonly material: PublicMaterial;
  /** Epoch numbers whose private keys are still held (in memory, and so on disk). */
  heldEpochs(): number[];
  /** Erases every private key of an epoch that ended before `now`. Returns how many were erased. */
  erasePast(now?: number | Date): number;
  /**
   * Decodes every certificate and every held seed now, throwing a KeyError at the first damaged
   * one: for the daemon, which lives through many epochs. A command decodes only what it uses.
   */
  checkAll(): void;
}

export interface GenerateKeysOptions {
  dir: string;
  host: string;
  /** Number of epochs (default DEFAULT_EPOCHS). */
  epochs?: number;
  /** Epoch length in seconds (default 3600); fractions allowed down to 0.1 s for tests. */
  epochSeconds?: number;
  /** Start of epoch 0 (default now). */
  start?: number | Date;
  /** Overwrite existing keys. */
  force?: boolean;
}

export interface GenerateKeysResult {
  pubPath: string;
  fingerprint: string;
  privatePath: string;
  publicPath: string;
}
