/**
 * `fim keygen`: makes a host's keys. A master key pair and one key pair per epoch; the master
 * certifies every epoch public key and its private key is then destroyed, never written, so nobody,
 * root included, can certify a new epoch key later. Writes the three key files through key-files.ts.
 *
 * It must not load, use or erase keys (forward-secure.ts does), and it never overwrites existing
 * keys unless asked to (`force`): a second keygen by mistake would orphan the enrolled public key.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, KeyError } from '../errors.js';
import { generateRawKeyPair, type RawKeyPair, signRaw } from './ed25519.js';
import {
  assertKeysDir,
  formatPrivateKeys,
  formatPublicMaterial,
  KEY_DIR_MODE,
  PRIVATE_FILE,
  PUBLIC_FILE,
  writeKeyFile,
} from './key-files.js';
import { assertHost, certificateBytes, fingerprint, formatPublicKeyFile, toMs } from './material.js';
import type { EpochCert, GenerateKeysOptions, GenerateKeysResult, PublicMaterial } from './types.js';

export const DEFAULT_EPOCH_SECONDS = 3600;
/** A year and a day of hourly epochs. */
export const DEFAULT_EPOCHS = 8808;

/** The schedule a caller asked for, validated: KeyError for anything generateKeys cannot honour. */
function schedule(opts: GenerateKeysOptions): { epochs: number; epochMs: number; startMs: number } {
  const epochs = opts.epochs ?? DEFAULT_EPOCHS;
  if (!Number.isSafeInteger(epochs) || epochs < 1 || epochs > 1_000_000) {
    throw new KeyError(`epochs must be an integer from 1 to 1000000, got ${epochs}`);
  }
  const epochMs = Math.round((opts.epochSeconds ?? DEFAULT_EPOCH_SECONDS) * 1000);
  if (!Number.isSafeInteger(epochMs) || epochMs < 100) {
    throw new KeyError(`epoch length must be at least 0.1 s, got ${opts.epochSeconds}`);
  }
  return { epochs, epochMs, startMs: Math.floor(toMs(opts.start)) };
}

/** Refuses to replace any existing key file, naming the first one found and the --force fix. */
function assertNoKeys(dir: string, names: readonly string[]): void {
  for (const name of names) {
    const path = join(dir, name);
    let exists = true;
    try {
      statSync(path);
    } catch (err: unknown) {
      if (errnoCode(err) !== 'ENOENT') throw new KeyError(`cannot check ${path}`, { cause: err });
      exists = false;
    }
    if (exists) {
      throw new KeyError(`${path} already exists: keys were generated before. Use --force to replace them`);
    }
  }
}

/**
 * Creates a host's keys in `dir`. The master private key lives only in this function's memory: it
 * certifies every epoch key and is then dropped, so nobody, root included, can certify a new one.
 */
export function generateKeys(opts: GenerateKeysOptions): GenerateKeysResult {
  const { dir, host } = opts;
  assertHost(host);
  const { epochs, epochMs, startMs } = schedule(opts);
  const pubName = `${host}.pub`;

  try {
    mkdirSync(dir, { recursive: true, mode: KEY_DIR_MODE });
  } catch (err: unknown) {
    throw new KeyError(`cannot create keys directory ${dir}: ${errnoCode(err) ?? String(err)}`, {
      cause: err,
    });
  }
  assertKeysDir(dir);
  if (!opts.force) assertNoKeys(dir, [PRIVATE_FILE, PUBLIC_FILE, pubName]);

  let masterPair: RawKeyPair | undefined = generateRawKeyPair();
  const seeds = new Map<number, Buffer>();
  const certs: EpochCert[] = [];
  for (let e = 0; e < epochs; e++) {
    const kp = generateRawKeyPair();
    const s = startMs + e * epochMs;
    const cert = signRaw(masterPair.privateKey, certificateBytes(host, e, s, s + epochMs, kp.pub));
    seeds.set(e, kp.seed);
    certs.push({ epoch: e, pub: kp.pub, cert });
  }
  const master = masterPair.pub;
  // Destroy the master private key: zero the seed we hold and drop the KeyObject (which JS cannot wipe).
  masterPair.seed.fill(0);
  masterPair = undefined;

  const material: PublicMaterial = { host, master, startMs, epochMs, epochs, certs };
  writeKeyFile(dir, PRIVATE_FILE, formatPrivateKeys(host, seeds));
  for (const seed of seeds.values()) seed.fill(0);
  writeKeyFile(dir, PUBLIC_FILE, formatPublicMaterial(material));
  writeKeyFile(dir, pubName, formatPublicKeyFile(material));
  return {
    pubPath: join(dir, pubName),
    fingerprint: fingerprint(master),
    privatePath: join(dir, PRIVATE_FILE),
    publicPath: join(dir, PUBLIC_FILE),
  };
}
