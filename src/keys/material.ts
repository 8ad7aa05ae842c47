/**
 * The public side of a host's keys: the enrolment record the log server trusts (master public key,
 * host, epoch schedule), the canonical bytes an epoch certificate signs, and the text format of
 * `<host>.pub`. Shared by the host (baseline verification) and the log server (verify-log); it holds
 * no secrets and touches no private key.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { errnoCode, KeyError } from '../errors.js';
import { decodeBase64Strict, ED25519_KEY_BYTES, verifyRaw } from './ed25519.js';

/** What the log server enrols for one host: enough to check any epoch certificate of that host. */
export interface EnrolledKey {
  host: string;
  /** Raw 32-byte Ed25519 master public key. */
  master: Buffer;
  /** Start of epoch 0, in milliseconds since the Unix epoch. */
  startMs: number;
  /** Length of one epoch in milliseconds. */
  epochMs: number;
  /** Number of epochs generated; epochs run 0 .. epochs-1. */
  epochs: number;
}

export const PUBKEY_MAGIC = 'fim-pubkey 1';

/**
 * Host names end up in file names, syslog HOSTNAME and canonical encodings, so they are limited to
 * what a DNS name or an IPv4/IPv6 literal uses: no space, no `/`, no newline, nothing to escape.
 */
export const HOST_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$/;

export function assertHost(host: string): void {
  if (!HOST_PATTERN.test(host)) {
    throw new KeyError(
      `invalid host name ${JSON.stringify(host)}: use letters, digits, ".", "_", ":" and "-"`,
    );
  }
}

export function epochBounds(key: EnrolledKey, epoch: number): { startMs: number; endMs: number } {
  const startMs = key.startMs + epoch * key.epochMs;
  return { startMs, endMs: startMs + key.epochMs };
}

/** Milliseconds since the Unix epoch of a moment given as a number, a Date, or not at all (now). */
export function toMs(t?: number | Date): number {
  if (t === undefined) return Date.now();
  return typeof t === 'number' ? t : t.getTime();
}

/** The epoch containing `nowMs` (may be negative or past the last epoch; callers check). */
export function epochAt(key: EnrolledKey, nowMs: number): number {
  return Math.floor((nowMs - key.startMs) / key.epochMs);
}

/**
 * The bytes the master key signs to certify an epoch key. Text, one field per line, with a domain
 * prefix so a certificate can never be mistaken for an alert or a baseline signature.
 */
export function certificateBytes(
  host: string,
  epoch: number,
  startMs: number,
  endMs: number,
  pub: Buffer,
): Buffer {
  return Buffer.from(
    `fim-epoch-cert/1\nhost=${host}\nepoch=${epoch}\nstart-ms=${startMs}\nend-ms=${endMs}\npub=${pub.toString('base64')}\n`,
    'utf8',
  );
}

/** True when `cert` is the master's certificate of `pub` as the key of `epoch` for this host. */
export function checkCertificate(key: EnrolledKey, epoch: number, pub: Buffer, cert: Buffer): boolean {
  if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch >= key.epochs) return false;
  const { startMs, endMs } = epochBounds(key, epoch);
  return verifyRaw(key.master, certificateBytes(key.host, epoch, startMs, endMs, pub), cert);
}

/** `SHA256:` and the unpadded base64 of the master key's hash, as OpenSSH shows fingerprints. */
export function fingerprint(master: Buffer): string {
  return `SHA256:${createHash('sha256').update(master).digest('base64').replace(/=+$/, '')}`;
}

export function formatPublicKeyFile(key: EnrolledKey): string {
  return [
    '# fim enrolment public key. Copy it to the log server: fim verify-log --pubkey FILE',
    PUBKEY_MAGIC,
    `host ${key.host}`,
    `master ${key.master.toString('base64')}`,
    `start-ms ${key.startMs}`,
    `epoch-ms ${key.epochMs}`,
    `epochs ${key.epochs}`,
    `fingerprint ${fingerprint(key.master)}`,
    '',
  ].join('\n');
}

/** Parses a `<host>.pub` file; `where` names it in errors. */
export function parsePublicKeyFile(text: string, where = 'public key'): EnrolledKey {
  const fields = new Map<string, string>();
  let magic = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line === PUBKEY_MAGIC) {
      magic = true;
      continue;
    }
    const sp = line.indexOf(' ');
    if (sp < 0) throw new KeyError(`${where}: malformed line ${JSON.stringify(line)}`);
    fields.set(line.slice(0, sp), line.slice(sp + 1).trim());
  }
  if (!magic) throw new KeyError(`${where}: not a fim public key (no "${PUBKEY_MAGIC}" line)`);
  const need = (name: string): string => {
    const v = fields.get(name);
    if (v === undefined) throw new KeyError(`${where}: missing "${name}"`);
    return v;
  };
  const int = (name: string, min: number): number => {
    const v = need(name);
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) {
      throw new KeyError(`${where}: "${name}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return n;
  };
  const host = need('host');
  if (!HOST_PATTERN.test(host)) throw new KeyError(`${where}: invalid host ${JSON.stringify(host)}`);
  const master = decodeBase64Strict(need('master'), ED25519_KEY_BYTES);
  if (!master) throw new KeyError(`${where}: "master" is not a base64 Ed25519 public key`);
  const key: EnrolledKey = {
    host,
    master,
    startMs: int('start-ms', 0),
    epochMs: int('epoch-ms', 1),
    epochs: int('epochs', 1),
  };
  const fp = fields.get('fingerprint');
  if (fp !== undefined && fp !== fingerprint(master)) {
    throw new KeyError(`${where}: fingerprint does not match the master key (file damaged or edited)`);
  }
  return key;
}

export function readPublicKeyFile(path: string): EnrolledKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    throw new KeyError(`cannot read public key ${path}: ${errnoCode(err) ?? String(err)}`, { cause: err });
  }
  return parsePublicKeyFile(text, path);
}
