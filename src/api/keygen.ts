/**
 * `keygen()`: create the host's forward-secure signing keys in the configured keys directory and
 * return where the public key to enrol on the log server is; `rotateKeys()`: replace them with a
 * new set and hand over to it in a message signed by the old one.
 */
import { existsSync } from 'node:fs';
import { KeyError, UsageError } from '../errors.js';
import { keysEndMs, loadKeyStore, openAlerter, rootVerifier } from '../evidence.js';
import {
  fingerprint,
  type GenerateKeysResult,
  generateKeys,
  loadKeys,
  signBaselineRoot,
  stageKeys,
} from '../keys/index.js';
import { verifyBaseline } from '../ops/baseline.js';
import type { BaselineMeta } from '../store/store.js';
import { loadConfig, openStore, type SessionOptions } from './session.js';

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

export interface RotateOutcome extends KeygenOutcome {
  /** The key set handed over from. */
  previousFingerprint: string;
  /** Whether the signed handover was sent (false without a syslog target: enrol the new key by hand). */
  handoverSent: boolean;
  /** Baselines re-signed with the new keys (each verified under the old ones first). */
  resigned: number;
}

/**
 * `keygen --rotate`: a new key set, and a handover message signed by the current epoch key of the
 * old one naming the new master public key, so a log server enrolled with the old key follows. In
 * this order, so that a failure leaves a working host: every kept baseline is verified under the
 * old keys; the new set is staged; the handover is sent (a failure to sign it stops here, the old
 * keys untouched); the old set is erased and the new one put in place; the baselines' roots are
 * signed again with the new keys.
 */
export async function rotateKeys(o: KeygenOptions): Promise<RotateOutcome> {
  const cfg = loadConfig(o);
  const old = loadKeyStore(cfg, o.warn);
  if (!old) throw new KeyError(`${cfg.keys} holds no keys to rotate: run "fim keygen" first`);
  const epochMs = o.epochMs ?? cfg.keyEpochMs;
  if (!Number.isFinite(epochMs) || epochMs < 100)
    throw new UsageError('the key epoch length must be at least 100 ms');
  const store = existsSync(cfg.database) ? openStore(cfg) : null;
  try {
    const kept: BaselineMeta[] = [];
    for (let id = store?.latestBaselineId() ?? 0; store && id > 0; id--) {
      const meta = store.baseline(id);
      if (!meta || !store.hasRecords(id)) continue;
      verifyBaseline(store, meta, rootVerifier(cfg));
      kept.push(meta);
    }
    const staged = stageKeys({
      dir: cfg.keys,
      host: cfg.host,
      epochSeconds: epochMs / 1000,
      ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
    });
    const previousFingerprint = fingerprint(old.material.master);
    const alerter = openAlerter(cfg, old, store ?? undefined, undefined, 'keygen');
    if (alerter) {
      const n = staged.next;
      alerter.send({
        type: 'handover',
        master: n.master.toString('base64'),
        startMs: n.startMs,
        epochMs: n.epochMs,
        epochs: n.epochs,
        fingerprint: staged.fingerprint,
      });
      await alerter.close(2000);
      if (alerter.stats().signErrors > 0) {
        staged.discard();
        throw new KeyError(
          `the handover to the new keys could not be signed (${alerter.stats().lastError ?? 'unknown error'}): the old keys are unchanged`,
        );
      }
    }
    const r = staged.commit();
    const fresh = loadKeys(cfg.keys);
    for (const meta of kept) {
      const sig = signBaselineRoot(fresh.currentSigner(), meta.root, meta.createdNs);
      store?.setBaselineSignature(meta.id, JSON.stringify(sig));
    }
    return {
      ...r,
      host: cfg.host,
      dir: cfg.keys,
      previousFingerprint,
      handoverSent: alerter !== null,
      resigned: kept.length,
    };
  } finally {
    store?.close();
  }
}

export interface EraseOutcome {
  host: string;
  dir: string;
  /** Epoch keys erased now. */
  erased: number;
  /** Epoch keys still held (the current one, and later ones). */
  held: number;
  /** When the keys end (ms since the epoch). */
  expiresMs: number;
}

/**
 * `keygen --erase`: erase the private keys of every ended epoch (all of them once the keys have
 * expired) and nothing else: what the daemon does at each heartbeat, for a host without the
 * daemon (fim-erase-keys.timer runs it every minute), so no ended epoch's key waits on disk for
 * the next check.
 */
export function eraseEndedEpochs(o: SessionOptions, nowMs = Date.now()): EraseOutcome {
  const cfg = loadConfig(o);
  const keys = loadKeys(cfg.keys);
  const erased = keys.erasePast(nowMs);
  return {
    host: cfg.host,
    dir: cfg.keys,
    erased,
    held: keys.heldEpochs().length,
    expiresMs: keysEndMs(keys),
  };
}
