/**
 * The forward-secure key store: loads a keys directory (refusing key files that group or others
 * may access), hands out the signer of the current epoch, and erases every ended epoch's private
 * key, from memory and (through erase.ts) from the private key file, before signing anything in
 * a later epoch. So an intruder who becomes root at time t cannot sign as an epoch before t.
 *
 * It must not write key files itself (erase.ts and key-files.ts own their bytes) and it never
 * brings an erased key back: a clock moved back gets an error, not a resurrected key. A JS
 * KeyObject cannot be wiped; the seed Buffers we hold are zeroed when their epoch ends.
 */
import { join } from 'node:path';
import { KeyError } from '../errors.js';
import { privateKeyFromSeed, signRaw } from './ed25519.js';
import { eraseEndedKeys } from './erase.js';
import {
  assertKeysDir,
  assertPrivateMode,
  PRIVATE_FILE,
  PUBLIC_FILE,
  readPrivateSeeds,
  readPublicMaterial,
} from './key-files.js';
import { epochAt, epochBounds, toMs } from './material.js';
import type { HeldSeeds } from './seed-lines.js';
import type { EpochSigner, KeyStore, PublicMaterial } from './types.js';

class FileKeyStore implements KeyStore {
  readonly dir: string;
  readonly host: string;
  readonly material: PublicMaterial;
  private readonly seeds: HeldSeeds;
  private readonly signers = new Map<number, { signer: EpochSigner; erased: { value: boolean } }>();

  constructor(dir: string, material: PublicMaterial, seeds: HeldSeeds) {
    this.dir = dir;
    this.host = material.host;
    this.material = material;
    this.seeds = seeds;
  }

  heldEpochs(): number[] {
    return this.seeds.epochs();
  }

  checkAll(): void {
    for (let e = 0; e < this.material.certs.length; e++) this.material.certs.at(e);
    for (const e of this.seeds.epochs()) this.seeds.seed(e)?.fill(0);
  }

  erasePast(now?: number | Date): number {
    const current = epochAt(this.material, toMs(now));
    const past = this.seeds.epochs().filter((e) => e < current);
    if (past.length === 0) return 0;
    // The files may hold another key set by now (keygen --rotate or --force under a running
    // daemon): erasing by our epoch numbers would destroy the new set's current keys.
    if (!readPublicMaterial(this.dir).master.equals(this.material.master))
      throw new KeyError(
        `the keys in ${this.dir} were replaced (fim keygen --rotate or --force) since this process loaded them: restart it to use the new keys`,
      );
    // Erase from the file as it is now rather than writing our copy back: another fim process may
    // already have erased more, and writing our in-memory set would resurrect keys it destroyed.
    eraseEndedKeys(this.dir, current);
    for (const e of past) {
      this.seeds.forget(e);
      const s = this.signers.get(e);
      if (s) s.erased.value = true;
      this.signers.delete(e);
    }
    return past.length;
  }

  currentSigner(now?: number | Date): EpochSigner {
    const nowMs = toMs(now);
    const m = this.material;
    const epoch = epochAt(m, nowMs);
    if (epoch < 0) {
      throw new KeyError(`keys in ${this.dir} are not valid before ${new Date(m.startMs).toISOString()}`);
    }
    if (epoch >= m.epochs) {
      const end = new Date(m.startMs + m.epochs * m.epochMs).toISOString();
      throw new KeyError(
        `keys in ${this.dir} expired at ${end}: run "fim keygen --force" and enrol the new key`,
      );
    }
    this.erasePast(nowMs);
    const cached = this.signers.get(epoch);
    if (cached) return cached.signer;
    const seed = this.seeds.seed(epoch);
    if (!seed) {
      throw new KeyError(
        `the private key of epoch ${epoch} was already erased (clock moved back, or keys damaged): check the time`,
      );
    }
    const cert = m.certs.at(epoch);
    if (!cert) throw new KeyError(`keys in ${this.dir} hold no certificate for epoch ${epoch}`);
    const key = privateKeyFromSeed(seed);
    // The KeyObject holds the key now; this copy is not needed (the held one is zeroed at erasure).
    seed.fill(0);
    const erased = { value: false };
    const { startMs, endMs } = epochBounds(m, epoch);
    const dir = this.dir;
    const signer: EpochSigner = {
      host: m.host,
      epoch,
      startMs,
      endMs,
      publicKey: cert.pub,
      certificate: cert.cert,
      sign(data: Buffer): Buffer {
        if (erased.value) throw new KeyError(`the key of epoch ${epoch} in ${dir} has been erased`);
        return signRaw(key, data);
      },
    };
    this.signers.set(epoch, { signer, erased });
    return signer;
  }
}

/** Loads the keys of `dir`, refusing key files that group or others can access. */
export function loadKeys(dir: string): KeyStore {
  const privatePath = join(dir, PRIVATE_FILE);
  const publicPath = join(dir, PUBLIC_FILE);
  assertKeysDir(dir);
  assertPrivateMode(privatePath);
  assertPrivateMode(publicPath);
  const material = readPublicMaterial(dir);
  const seeds = readPrivateSeeds(privatePath);
  if (seeds.host !== material.host) {
    throw new KeyError(`${privatePath} is for host ${seeds.host} but ${publicPath} for ${material.host}`);
  }
  return new FileKeyStore(dir, material, seeds);
}
