/**
 * `keygen()`: create the host's forward-secure signing keys in the configured keys directory and
 * return where the public key to enrol on the log server is.
 */
import { UsageError } from '../errors.js';
import { type GenerateKeysResult, generateKeys } from '../keys/index.js';
import { loadConfig, type SessionOptions } from './session.js';

export interface KeygenOptions extends SessionOptions {
  /** Overwrite existing keys (the new public key must then be enrolled again). */
  force?: boolean;
  /** Number of epochs (default: a year and a day of epochs). */
  epochs?: number;
  /** Epoch length in ms (default: key_epoch from the configuration). */
  epochMs?: number;
}

export interface KeygenOutcome extends GenerateKeysResult {
  host: string;
  dir: string;
}

export function keygen(o: KeygenOptions): KeygenOutcome {
  const cfg = loadConfig(o);
  const epochMs = o.epochMs ?? cfg.keyEpochMs;
  if (!Number.isFinite(epochMs) || epochMs < 100)
    throw new UsageError('the key epoch length must be at least 100 ms');
  const r = generateKeys({
    dir: cfg.keys,
    host: cfg.host,
    epochSeconds: epochMs / 1000,
    ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
    force: o.force ?? false,
  });
  return { ...r, host: cfg.host, dir: cfg.keys };
}
