/**
 * The key files of `fim keygen --rotate`: a new key set made beside the old one (in a staging
 * directory inside the keys directory, so nothing of it is in place until the caller has sent the
 * handover signed by the old set), then put in place: every seed of the old set is overwritten
 * first (erase.ts: the old set must sign nothing more, for forward security), and the new files
 * are written through atomic-file.ts like any key file. Discarding the staging leaves the old set
 * untouched.
 *
 * It must not send anything nor touch baselines: the rotation's order (stage, hand over, commit,
 * re-sign the baselines) is the caller's.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, KeyError } from '../errors.js';
import { eraseEndedKeys } from './erase.js';
import { generateKeys } from './generate.js';
import { PRIVATE_FILE, PUBLIC_FILE, writeKeyFile } from './key-files.js';
import { type EnrolledKey, readPublicKeyFile } from './material.js';
import type { GenerateKeysResult } from './types.js';

/** The staging directory, inside the keys directory (same file system, same protection). */
const STAGING = '.rotate';

export interface StagedKeys {
  /** The new set's enrolment: what the handover names. */
  readonly next: EnrolledKey;
  readonly fingerprint: string;
  /** Erases the old set and puts the new one in place. */
  commit(): GenerateKeysResult;
  /** Drops the new set; the old one stays as it was. */
  discard(): void;
}

export function stageKeys(o: {
  dir: string;
  host: string;
  epochs?: number;
  epochSeconds?: number;
}): StagedKeys {
  const staging = join(o.dir, STAGING);
  rmSync(staging, { recursive: true, force: true });
  const r = generateKeys({
    dir: staging,
    host: o.host,
    force: true,
    ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
    ...(o.epochSeconds !== undefined ? { epochSeconds: o.epochSeconds } : {}),
  });
  const pubName = `${o.host}.pub`;
  const discard = () => rmSync(staging, { recursive: true, force: true });
  return {
    next: readPublicKeyFile(r.pubPath),
    fingerprint: r.fingerprint,
    discard,
    commit(): GenerateKeysResult {
      try {
        // Every epoch of the old set, ended or not: it must never sign again.
        eraseEndedKeys(o.dir, Number.MAX_SAFE_INTEGER);
      } catch (err: unknown) {
        // No old private file left to erase (already gone) is fine; anything else stops here.
        if (!(err instanceof KeyError && errnoCode(err.cause) === 'ENOENT')) throw err;
      }
      // The public file first: a process still holding the old set sees another master from then
      // on and refuses to erase by its own epoch numbers (forward-secure.ts).
      for (const name of [PUBLIC_FILE, PRIVATE_FILE, pubName])
        writeKeyFile(o.dir, name, readFileSync(join(staging, name), 'utf8'));
      discard();
      return {
        pubPath: join(o.dir, pubName),
        fingerprint: r.fingerprint,
        privatePath: join(o.dir, PRIVATE_FILE),
        publicPath: join(o.dir, PUBLIC_FILE),
      };
    },
  };
}
