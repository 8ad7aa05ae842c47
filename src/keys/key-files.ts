/**
 * The key files of a keys directory, byte for byte: their names, their formats (writing, reading,
 * validating), the permission check that refuses a key file group or others may access, and the
 * one way they are written (atomically, mode 0600). Every error is a KeyError naming the file.
 *
 *   epoch-keys.json    private seeds of the epochs not yet ended
 *   epoch-certs.json   public material: master public key, schedule, epoch public keys and certificates
 *   <host>.pub         the enrolment public key for the log server (format in material.ts)
 *
 * It must not decide anything: which keys to make, which epoch is current or which keys to erase
 * belong to generate.ts, forward-secure.ts and erase.ts.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../atomic-file.js';
import { errnoCode, KeyError } from '../errors.js';
import { certLines, certsHeader } from './cert-lines.js';
import { decodeBase64Strict, ED25519_KEY_BYTES, ED25519_SIG_BYTES } from './ed25519.js';
import { type HeldSeeds, type LazySeeds, MapSeeds, seedLines } from './seed-lines.js';
import type { EpochCert, EpochCerts, PublicMaterial } from './types.js';

export const PRIVATE_FILE = 'epoch-keys.json';
export const PUBLIC_FILE = 'epoch-certs.json';
export const PRIVATE_FORMAT = 'fim-epoch-private/1';
export const PUBLIC_FORMAT = 'fim-epoch-public/1';

/** Key files are for root alone: the directory is made 0700 and every file 0600. */
export const KEY_DIR_MODE = 0o700;
export const KEY_FILE_MODE = 0o600;

/**
 * The text an erased seed is overwritten with in place: base64 of 32 zero bytes, the same length as
 * any seed, so the file stays valid while erase.ts overwrites it. Readers skip such an entry.
 */
export const ERASED_SEED_TEXT = Buffer.alloc(ED25519_KEY_BYTES).toString('base64');

/** The content of the private key file: the host and the seed of every epoch still held. */
export interface PrivateKeys {
  host: string;
  keys: Map<number, Buffer>;
}

/** The private key file's text up to its first entry (formatPrivateKeys). */
export function privateKeysHead(host: string): string {
  return `{"format":"${PRIVATE_FORMAT}","host":${JSON.stringify(host)},"keys":[\n`;
}

export function formatPrivateKeys(host: string, keys: ReadonlyMap<number, Buffer>): string {
  const entries = [...keys.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([epoch, seed]) => `{"epoch":${epoch},"seed":"${seed.toString('base64')}"}`);
  // One entry per line keeps the rewrite simple to inspect.
  return `${privateKeysHead(host)}${entries.join(',\n')}\n]}\n`;
}

export function formatPublicMaterial(m: PublicMaterial): string {
  const certs: string[] = [];
  for (let e = 0; e < m.certs.length; e++) {
    const c = m.certs.at(e);
    if (!c) throw new KeyError(`no certificate for epoch ${e} to write`);
    certs.push(
      `{"epoch":${c.epoch},"pub":"${c.pub.toString('base64')}","cert":"${c.cert.toString('base64')}"}`,
    );
  }
  const head = {
    format: PUBLIC_FORMAT,
    host: m.host,
    master: m.master.toString('base64'),
    startMs: m.startMs,
    epochMs: m.epochMs,
    epochs: m.epochs,
  };
  return `${JSON.stringify(head).slice(0, -1)},"certs":[\n${certs.join(',\n')}\n]}\n`;
}

/** The message for a key file that cannot be opened or read; ENOENT means keygen never ran. */
export function unreadableKeyFile(path: string, err: unknown): KeyError {
  const code = errnoCode(err);
  const hint = code === 'ENOENT' ? ': run "fim keygen" first' : '';
  return new KeyError(`cannot read key file ${path}: ${code ?? String(err)}${hint}`, { cause: err });
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err: unknown) {
    throw unreadableKeyFile(path, err);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string, path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err: unknown) {
    throw new KeyError(`key file ${path} is not valid JSON (damaged?)`, { cause: err });
  }
  if (!isRecord(value)) throw new KeyError(`key file ${path} is not a fim key file`);
  return value;
}

function intField(obj: Record<string, unknown>, name: string, path: string, min = 0): number {
  const v = obj[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new KeyError(`key file ${path}: "${name}" must be an integer >= ${min}`);
  }
  return v;
}

/** The private key file's header fields: its host, or a KeyError naming the file. */
function privateHeader(obj: unknown, path: string): string {
  if (
    !isRecord(obj) ||
    obj['format'] !== PRIVATE_FORMAT ||
    typeof obj['host'] !== 'string' ||
    !Array.isArray(obj['keys'])
  ) {
    throw new KeyError(`key file ${path} is not a fim private key file (${PRIVATE_FORMAT})`);
  }
  return obj['host'];
}

/**
 * Parses the private key file's text; `path` names it in errors. An entry whose seed was
 * overwritten by an interrupted erasure (ERASED_SEED_TEXT) is left out: that key is gone.
 */
export function parsePrivateKeys(text: string, path: string): PrivateKeys {
  const obj = parseJson(text, path);
  const host = privateHeader(obj, path);
  const keys = new Map<number, Buffer>();
  for (const entry of obj['keys'] as unknown[]) {
    if (!isRecord(entry) || typeof entry['seed'] !== 'string')
      throw new KeyError(`key file ${path}: bad entry`);
    const epoch = intField(entry, 'epoch', path);
    if (entry['seed'] === ERASED_SEED_TEXT) continue;
    const seed = decodeBase64Strict(entry['seed'], ED25519_KEY_BYTES);
    if (!seed) throw new KeyError(`key file ${path}: bad seed for epoch ${epoch}`);
    keys.set(epoch, seed);
  }
  return { host, keys };
}

/** Reads the private key file at `path`. No permission check here: see assertPrivateMode. */
export function readPrivateKeys(path: string): PrivateKeys {
  return parsePrivateKeys(readKeyFile(path), path);
}

/**
 * The seeds of the private key file's bytes, as a key store holds them: in fim's own layout each
 * is decoded when its epoch is used (seed-lines.ts), else the whole file is parsed. Takes `bytes`
 * (kept, or zeroed after a whole parse).
 */
export function privateSeeds(bytes: Buffer, path: string): HeldSeeds {
  const lazy = privateSeedLines(bytes, path);
  if (lazy) return lazy;
  try {
    const whole = parsePrivateKeys(bytes.toString('utf8'), path);
    return new MapSeeds(whole.host, whole.keys);
  } finally {
    bytes.fill(0);
  }
}

/** The private key file's bytes in fim's own layout, held (seed-lines.ts); null for any other layout. */
export function privateSeedLines(bytes: Buffer, path: string): LazySeeds | null {
  return seedLines(bytes, path, ERASED_SEED_TEXT, (obj) => privateHeader(obj, path));
}

/** Reads the private key file at `path` for a key store (privateSeeds). No permission check here. */
export function readPrivateSeeds(path: string): HeldSeeds {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err: unknown) {
    throw unreadableKeyFile(path, err);
  }
  return privateSeeds(bytes, path);
}

/**
 * Parses the public material's text; `path` names it in errors. In fim's own layout (one
 * certificate per line, as formatPublicMaterial writes it) the certificates are checked for their
 * layout and decoded one at a time when used (cert-lines.ts); any other valid JSON is read whole.
 */
export function parsePublicMaterial(text: string, path: string): PublicMaterial {
  const header = certsHeader(text);
  if (header !== null) {
    let head: unknown;
    try {
      head = JSON.parse(header);
    } catch {
      head = null;
    }
    if (isRecord(head)) {
      const certs = certLines(text, path, typeof head['epochs'] === 'number' ? head['epochs'] : 0);
      if (certs) return materialOf(head, certs, path);
    }
  }
  const obj = parseJson(text, path);
  if (!Array.isArray(obj['certs']))
    throw new KeyError(`key file ${path} is not a fim public key file (${PUBLIC_FORMAT})`);
  const certs: EpochCert[] = [];
  for (const entry of obj['certs'] as unknown[]) {
    if (!isRecord(entry) || typeof entry['pub'] !== 'string' || typeof entry['cert'] !== 'string') {
      throw new KeyError(`key file ${path}: bad certificate entry`);
    }
    const epoch = intField(entry, 'epoch', path);
    const pub = decodeBase64Strict(entry['pub'], ED25519_KEY_BYTES);
    const cert = decodeBase64Strict(entry['cert'], ED25519_SIG_BYTES);
    if (!pub || !cert) throw new KeyError(`key file ${path}: bad key or certificate for epoch ${epoch}`);
    certs[epoch] = { epoch, pub, cert };
  }
  const m = materialOf(obj, certs, path);
  for (let e = 0; e < m.epochs; e++) {
    if (!certs[e]) throw new KeyError(`key file ${path}: no certificate for epoch ${e}`);
  }
  return m;
}

/** The header's fields, checked, around the certificates. */
function materialOf(obj: Record<string, unknown>, certs: EpochCerts, path: string): PublicMaterial {
  if (obj['format'] !== PUBLIC_FORMAT || typeof obj['host'] !== 'string') {
    throw new KeyError(`key file ${path} is not a fim public key file (${PUBLIC_FORMAT})`);
  }
  const master =
    typeof obj['master'] === 'string' ? decodeBase64Strict(obj['master'], ED25519_KEY_BYTES) : null;
  if (!master) throw new KeyError(`key file ${path}: bad master public key`);
  return {
    host: obj['host'],
    master,
    startMs: intField(obj, 'startMs', path),
    epochMs: intField(obj, 'epochMs', path, 1),
    epochs: intField(obj, 'epochs', path, 1),
    certs,
  };
}

/** Reads the public material (`epoch-certs.json`) of a keys directory. No permission check: it is public. */
export function readPublicMaterial(dir: string): PublicMaterial {
  const path = join(dir, PUBLIC_FILE);
  return parsePublicMaterial(readKeyFile(path), path);
}

/** Refuses a key file that group or others may read or write, naming the fix. */
export function assertPrivateMode(path: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err: unknown) {
    throw unreadableKeyFile(path, err);
  }
  if ((mode & 0o077) !== 0) {
    const shown = (mode & 0o7777).toString(8).padStart(4, '0');
    throw new KeyError(
      `key file ${path} is accessible by group or others (mode ${shown}): run "chmod 600 ${path}" and check who may have copied it`,
    );
  }
}

/**
 * The keys directory must not be writable by group or others, and must belong to root or to the
 * user running fim: otherwise a local user could swap in a key pair of their own, and root's
 * `fim baseline` would sign with it.
 */
export function assertKeysDir(dir: string): void {
  let st: { mode: number; uid: number; isDirectory(): boolean };
  try {
    st = statSync(dir);
  } catch (err: unknown) {
    // Missing: the key files' own errors say to run "fim keygen".
    if (errnoCode(err) === 'ENOENT') return;
    throw new KeyError(`cannot read keys directory ${dir}: ${errnoCode(err) ?? String(err)}`, { cause: err });
  }
  if (!st.isDirectory()) throw new KeyError(`keys directory ${dir} is not a directory`);
  const shown = (st.mode & 0o7777).toString(8).padStart(4, '0');
  if ((st.mode & 0o022) !== 0)
    throw new KeyError(
      `keys directory ${dir} is writable by group or others (mode ${shown}): anyone could swap in keys of their own; run "chmod go-w ${dir}" and check the keys in it`,
    );
  const me = process.getuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== me)
    throw new KeyError(
      `keys directory ${dir} belongs to uid ${st.uid}, neither root nor the user running fim (${me})`,
    );
}

/** Writes the key file `name` in `dir`: atomically (see atomic-file.ts), mode 0600 from the start. */
export function writeKeyFile(dir: string, name: string, data: string | Buffer): void {
  const path = join(dir, name);
  try {
    writeFileAtomicSync(path, data, { mode: KEY_FILE_MODE });
  } catch (err: unknown) {
    throw new KeyError(`cannot write ${path}: ${errnoCode(err) ?? String(err)}`, { cause: err });
  }
}
