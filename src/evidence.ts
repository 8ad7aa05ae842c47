/**
 * The evidence chain as the commands use it: the host's keys (when `fim keygen` made them), the
 * signer and verifier of baseline roots, and the alerter that ships sealed messages. Policy:
 * - a host with keys signs every baseline, and refuses an unsigned or badly signed one (an intruder
 *   who strips the signature must not be trusted more than one who forges it);
 * - a host without keys works locally (the root still catches corruption) and says so;
 * - a syslog target needs keys: unsigned alerts would prove nothing to the log server.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AlertEvent, type Alerter, createAlerter } from './alert/index.js';
import type { Config } from './config.js';
import { BaselineIntegrityError, KeyError } from './errors.js';
import {
  type KeyStore,
  loadKeys,
  PRIVATE_FILE,
  PUBLIC_FILE,
  signBaselineRoot,
  verifyBaselineRoot,
} from './keys/index.js';
import type { RootSigner, RootVerifier } from './ops/baseline.js';
import type { Store } from './store/store.js';

export function hasKeys(cfg: Config): boolean {
  return existsSync(join(cfg.keys, PUBLIC_FILE)) || existsSync(join(cfg.keys, PRIVATE_FILE));
}

/** Warn this long before the keys expire (every command, on stderr). */
export const EXPIRY_WARNING_MS = 30 * 24 * 3600 * 1000;

/**
 * The host's key store, or null when this host has no keys yet. Ended epochs' private keys are
 * erased here, whatever the command (a host that only runs the check timer must not keep them
 * until it next signs). Expired keys stop the command (exit 20): alerts that cannot be signed must
 * not pass for a quiet host; from 30 days before, `warn` says when they expire.
 */
export function loadKeyStore(
  cfg: Config,
  warn?: (message: string) => void,
  nowMs = Date.now(),
  /**
   * Decode every epoch's certificate and private seed now (the daemon, which lives through many
   * epochs): a damaged one refuses the start instead of stopping the daemon at its epoch. A
   * command decodes only the ones it uses (keys/cert-lines.ts, keys/seed-lines.ts).
   */
  checkAll = false,
): KeyStore | null {
  if (!hasKeys(cfg)) return null;
  const keys = loadKeys(cfg.keys);
  if (checkAll) keys.checkAll();
  keys.erasePast(nowMs);
  const end = keysEndMs(keys);
  const at = new Date(end).toISOString();
  if (nowMs >= end)
    throw new KeyError(
      `the host's keys in ${cfg.keys} expired at ${at}: nothing can be signed; run "fim keygen --force", enrol the new public key on the log server, then "fim baseline"`,
    );
  if (end - nowMs < EXPIRY_WARNING_MS)
    warn?.(
      `warning: the host's keys in ${cfg.keys} expire at ${at} (in ${Math.ceil((end - nowMs) / 86_400_000)} days): run "fim keygen --force" and enrol the new public key before then`,
    );
  return keys;
}

/** When the host's keys end: the end of their last epoch (ms since the epoch). */
export function keysEndMs(keys: KeyStore): number {
  const m = keys.material;
  return m.startMs + m.epochs * m.epochMs;
}

export function rootSigner(keys: KeyStore | null): RootSigner | undefined {
  if (!keys) return undefined;
  return (root, createdNs) => JSON.stringify(signBaselineRoot(keys.currentSigner(), root, createdNs));
}

/**
 * Checks a baseline's signature with the host's public material: `keys`' when the command has
 * loaded them already (else a year of hourly certificates is parsed a second time: 1.5 MB of
 * JSON, 17,616 base64 decodes), else read from the keys directory now.
 */
export function rootVerifier(cfg: Config, keys?: KeyStore | null): RootVerifier {
  return (meta) => {
    const keyed = existsSync(join(cfg.keys, PUBLIC_FILE));
    if (meta.signature === null) {
      if (keyed) {
        throw new BaselineIntegrityError(
          `baseline ${meta.id} is not signed, but this host has keys in ${cfg.keys}: refusing it. ` +
            'If you made it before "fim keygen", review and run "fim baseline" again.',
        );
      }
      return;
    }
    if (!keyed) {
      throw new KeyError(
        `baseline ${meta.id} is signed, but ${join(cfg.keys, PUBLIC_FILE)} is missing: cannot verify it`,
      );
    }
    let sig: unknown;
    try {
      sig = JSON.parse(meta.signature);
    } catch {
      sig = null;
    }
    if (!verifyBaselineRoot(keys?.material ?? cfg.keys, meta.root, sig)) {
      throw new BaselineIntegrityError(
        `baseline ${meta.id}'s signature does not verify with the keys in ${cfg.keys}: it was altered or signed by someone else. Do not trust it.`,
      );
    }
  };
}

/**
 * An alerter for the configured target, or null when no target is set. One alerter is one session
 * of kind `kind` (DAEMON_KIND, or the one-shot command's name); with a store, its start names the
 * host's previous session and each message moves the chain in the database (store/chain.ts).
 */
export function openAlerter(
  cfg: Config,
  keys: KeyStore | null,
  store?: Store,
  log?: (msg: string) => void,
  kind = 'command',
): Alerter | null {
  const target = cfg.syslog.target;
  if (!target) return null;
  if (!keys) throw new KeyError(`syslog.target is set but ${cfg.keys} holds no keys: run "fim keygen" first`);
  return createAlerter({
    target,
    host: cfg.host,
    signer: keys,
    kind,
    ...(store ? { chain: store.sessionChain() } : {}),
    facility: cfg.syslog.facility as Parameters<typeof createAlerter>[0]['facility'] & string,
    maxPerSecond: cfg.syslog.maxPerSecond,
    ...(store && !target.startsWith('udp:') ? { queue: store.outbox(10_000) } : {}),
    ...(target.startsWith('tls:') ? { tls: tlsOptions(cfg) } : {}),
    ...(log
      ? { onError: (err: unknown) => log(`alert not sent: ${(err as Error)?.message ?? String(err)}`) }
      : {}),
  });
}

function tlsOptions(cfg: Config): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (what: string, p: string) => {
    try {
      return readFileSync(p);
    } catch (err) {
      throw new KeyError(`cannot read syslog.${what} ${p}: ${(err as Error).message}`);
    }
  };
  const s = cfg.syslog;
  return {
    ...(s.ca ? { ca: read('ca', s.ca) } : {}),
    ...(s.cert ? { cert: read('cert', s.cert) } : {}),
    ...(s.key ? { key: read('key', s.key) } : {}),
  };
}

/**
 * Send a few events on a short-lived session (check, baseline, accept) and wait for the transport.
 * The alerter frames them: a start before, a stop with the count after.
 */
export async function sendAndClose(alerter: Alerter | null, events: readonly AlertEvent[]): Promise<void> {
  if (!alerter) return;
  for (const e of events) alerter.send(e);
  await alerter.close(2000);
}
