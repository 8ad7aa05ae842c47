/**
 * Test material for the verify-log units: one host's keys on a fixed clock (so reports are
 * deterministic), a signer for any epoch (what a thief of old seeds would hold), and builders for
 * signed lines, including re-signed ones whose fields a real sender would never write.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalBytes, formatMessage, SD_ID_EVENT, type WireEvent } from '../../../src/alert/index.js';
import { privateKeyFromSeed, signRaw } from '../../../src/keys/ed25519.js';
import {
  type EnrolledKey,
  type EpochSigner,
  generateKeys,
  PRIVATE_FILE,
  readPublicKeyFile,
  readPublicMaterial,
} from '../../../src/keys/index.js';
import { parseSyslogLine } from '../../../src/verify/index.js';

/** Epoch 0 starts here; epochs last one minute. */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const EPOCH_MS = 60_000;
export const EPOCHS = 40;
export const ROOT_A = 'ab'.repeat(32);
export const ROOT_B = 'cd'.repeat(32);
export const ROOT_C = 'ef'.repeat(32);

export interface HostKeys {
  readonly dir: string;
  readonly pub: EnrolledKey;
  signerFor(epoch: number): EpochSigner;
  cleanup(): void;
}

export function makeHostKeys(host = 'h1'): HostKeys {
  const dir = mkdtempSync(join(tmpdir(), 'fim-verify-unit-'));
  const r = generateKeys({ dir, host, epochs: EPOCHS, epochSeconds: EPOCH_MS / 1000, start: T0 });
  const pub = readPublicKeyFile(r.pubPath);
  const material = readPublicMaterial(dir);
  const seeds = JSON.parse(readFileSync(join(dir, PRIVATE_FILE), 'utf8')) as {
    keys: { epoch: number; seed: string }[];
  };
  return {
    dir,
    pub,
    signerFor(epoch) {
      const key = privateKeyFromSeed(Buffer.from(seeds.keys[epoch]!.seed, 'base64'));
      return {
        host,
        epoch,
        startMs: T0 + epoch * EPOCH_MS,
        endMs: T0 + (epoch + 1) * EPOCH_MS,
        publicKey: material.certs.at(epoch)!.pub,
        certificate: material.certs.at(epoch)!.cert,
        sign: (d) => signRaw(key, d),
      };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface LineOptions {
  /** Message time, ms (default T0 + 10 min). */
  tMs?: number;
  /** Signing epoch (default: the one containing tMs). */
  epoch?: number;
  sid?: string;
  /** Host named in the message (default the keys' host). */
  host?: string;
}

export const SID_A = '00000000000000aa';

export function makeLine(keys: HostKeys) {
  return (ev: WireEvent, seq: number, o: LineOptions = {}): string => {
    const tMs = o.tMs ?? T0 + 10 * EPOCH_MS;
    const epoch = o.epoch ?? Math.floor((tMs - T0) / EPOCH_MS);
    return formatMessage(ev, {
      host: o.host ?? keys.pub.host,
      app: 'fim',
      procId: '1',
      facility: 10,
      sessionId: o.sid ?? SID_A,
      seq,
      timeNs: BigInt(tMs) * 1_000_000n,
      signer: keys.signerFor(epoch),
    }).toString('utf8');
  };
}

/**
 * Rewrites event parameters of a signed line and signs the result again with the epoch's own key:
 * a correctly signed message whose content no honest sender produces.
 */
export function resign(keys: HostKeys, line: string, set: Record<string, string>): string {
  const m = parseSyslogLine(line);
  if (!m) throw new Error('resign: not a syslog line');
  const el = m.sd.find((e) => e.id === SD_ID_EVENT)!;
  const params: Array<[string, string]> = el.params.map(([k, v]) => [k, set[k] ?? v]);
  const ep = Number(params.find(([k]) => k === 'ep')![1]);
  const sig = keys.signerFor(ep).sign(canonicalBytes(params, m.msg)).toString('base64');
  let out = line;
  for (const [k, v] of Object.entries(set)) out = out.replace(new RegExp(` ${k}="[^"]*"`), ` ${k}="${v}"`);
  return out.replace(/ sig="[^"]+"/, ` sig="${sig}"`);
}
