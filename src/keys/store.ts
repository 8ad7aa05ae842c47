/**
 * The host's signing keys on disk: generation (master key pair, epoch key pairs certified by the
 * master, master private key never written), loading with a permission check, and forward-secure
 * use: when an epoch has ended its private key is removed from the file (rewrite, fsync, rename)
 * and from memory, so an intruder who becomes root later cannot sign as an earlier epoch.
 *
 * Files in the keys directory (all mode 0600, directory 0700):
 *   epoch-keys.json    private seeds of the epochs not yet ended
 *   epoch-certs.json   public material: master public key, schedule, epoch public keys and certificates
 *   <host>.pub         the enrolment public key for the log server (see material.ts)
 *
 * Limits, stated so nobody relies on more: the rename replaces the file, but the file system may
 * keep old blocks until they are reused (an SSD or a journal may keep them longer), and a JS
 * KeyObject cannot be wiped; the seed Buffers we hold are zeroed.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { errnoCode, KeyError } from '../errors.js';
import {
  decodeBase64Strict,
  ED25519_KEY_BYTES,
  ED25519_SIG_BYTES,
  generateRawKeyPair,
  privateKeyFromSeed,
  signRaw,
} from './ed25519.js';
import {
  assertHost,
  certificateBytes,
  type EnrolledKey,
  epochAt,
  epochBounds,
  fingerprint,
  formatPublicKeyFile,
} from './material.js';

export const PRIVATE_FILE = 'epoch-keys.json';
export const PUBLIC_FILE = 'epoch-certs.json';
const PRIVATE_FORMAT = 'fim-epoch-private/1';
const PUBLIC_FORMAT = 'fim-epoch-public/1';

export const DEFAULT_EPOCH_SECONDS = 3600;
/** A year and a day of hourly epochs. */
export const DEFAULT_EPOCHS = 8808;

/** One certified epoch public key. */
export interface EpochCert {
  epoch: number;
  pub: Buffer;
  cert: Buffer;
}

/** Everything public the host keeps: the enrolment plus every epoch key and certificate. */
export interface PublicMaterial extends EnrolledKey {
  certs: EpochCert[];
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

function toMs(t: number | Date | undefined): number {
  if (t === undefined) return Date.now();
  return typeof t === 'number' ? t : t.getTime();
}

/** Writes `data` to `path` with mode 0600 atomically: temp file, fsync, rename, fsync directory. */
function writeFileAtomic(dir: string, name: string, data: string): void {
  const path = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    const buf = Buffer.from(data, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err: unknown) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // The temp file may not exist; the original error is the one to report.
    }
    throw new KeyError(`cannot write ${path}: ${errnoCode(err) ?? String(err)}`, { cause: err });
  }
  // The rename is only durable once the directory entry is: fsync the directory too.
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the data file itself is already synced.
  }
}

interface PrivateFile {
  host: string;
  keys: Map<number, Buffer>;
}

function serialisePrivate(host: string, keys: Map<number, Buffer>): string {
  const entries = [...keys.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([epoch, seed]) => `{"epoch":${epoch},"seed":"${seed.toString('base64')}"}`);
  // One entry per line keeps the rewrite simple to inspect.
  return `{"format":"${PRIVATE_FORMAT}","host":${JSON.stringify(host)},"keys":[\n${entries.join(',\n')}\n]}\n`;
}

function serialisePublic(m: PublicMaterial): string {
  const certs = m.certs.map(
    (c) => `{"epoch":${c.epoch},"pub":"${c.pub.toString('base64')}","cert":"${c.cert.toString('base64')}"}`,
  );
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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    const code = errnoCode(err);
    const hint = code === 'ENOENT' ? ': run "fim keygen" first' : '';
    throw new KeyError(`cannot read key file ${path}: ${code ?? String(err)}${hint}`, { cause: err });
  }
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

function readPrivateFile(path: string): PrivateFile {
  const obj = parseJsonFile(path);
  if (obj['format'] !== PRIVATE_FORMAT || typeof obj['host'] !== 'string' || !Array.isArray(obj['keys'])) {
    throw new KeyError(`key file ${path} is not a fim private key file (${PRIVATE_FORMAT})`);
  }
  const keys = new Map<number, Buffer>();
  for (const entry of obj['keys'] as unknown[]) {
    if (!isRecord(entry) || typeof entry['seed'] !== 'string')
      throw new KeyError(`key file ${path}: bad entry`);
    const epoch = intField(entry, 'epoch', path);
    const seed = decodeBase64Strict(entry['seed'], ED25519_KEY_BYTES);
    if (!seed) throw new KeyError(`key file ${path}: bad seed for epoch ${epoch}`);
    keys.set(epoch, seed);
  }
  return { host: obj['host'], keys };
}

/** Reads the public material (`epoch-certs.json`) of a keys directory. No permission check: it is public. */
export function readPublicMaterial(dir: string): PublicMaterial {
  const path = join(dir, PUBLIC_FILE);
  const obj = parseJsonFile(path);
  if (obj['format'] !== PUBLIC_FORMAT || typeof obj['host'] !== 'string' || !Array.isArray(obj['certs'])) {
    throw new KeyError(`key file ${path} is not a fim public key file (${PUBLIC_FORMAT})`);
  }
  const master =
    typeof obj['master'] === 'string' ? decodeBase64Strict(obj['master'], ED25519_KEY_BYTES) : null;
  if (!master) throw new KeyError(`key file ${path}: bad master public key`);
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
  const m: PublicMaterial = {
    host: obj['host'],
    master,
    startMs: intField(obj, 'startMs', path),
    epochMs: intField(obj, 'epochMs', path, 1),
    epochs: intField(obj, 'epochs', path, 1),
    certs,
  };
  for (let e = 0; e < m.epochs; e++) {
    if (!m.certs[e]) throw new KeyError(`key file ${path}: no certificate for epoch ${e}`);
  }
  return m;
}

/**
 * Creates a host's keys in `dir`. The master private key lives only in this function's memory: it
 * certifies every epoch key and is then dropped, so nobody, root included, can certify a new one.
 */
export function generateKeys(opts: GenerateKeysOptions): GenerateKeysResult {
  const { dir, host } = opts;
  assertHost(host);
  const epochs = opts.epochs ?? DEFAULT_EPOCHS;
  if (!Number.isSafeInteger(epochs) || epochs < 1 || epochs > 1_000_000) {
    throw new KeyError(`epochs must be an integer from 1 to 1000000, got ${epochs}`);
  }
  const epochMs = Math.round((opts.epochSeconds ?? DEFAULT_EPOCH_SECONDS) * 1000);
  if (!Number.isSafeInteger(epochMs) || epochMs < 100) {
    throw new KeyError(`epoch length must be at least 0.1 s, got ${opts.epochSeconds}`);
  }
  const startMs = Math.floor(toMs(opts.start));
  const pubName = `${host}.pub`;
  const names = [PRIVATE_FILE, PUBLIC_FILE, pubName];

  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err: unknown) {
    throw new KeyError(`cannot create keys directory ${dir}: ${errnoCode(err) ?? String(err)}`, {
      cause: err,
    });
  }
  if (!opts.force) {
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

  let masterPair: ReturnType<typeof generateRawKeyPair> | undefined = generateRawKeyPair();
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
  masterPair.seed.fill(0);
  masterPair = undefined;

  const material: PublicMaterial = { host, master, startMs, epochMs, epochs, certs };
  writeFileAtomic(dir, PRIVATE_FILE, serialisePrivate(host, seeds));
  for (const seed of seeds.values()) seed.fill(0);
  writeFileAtomic(dir, PUBLIC_FILE, serialisePublic(material));
  writeFileAtomic(dir, pubName, formatPublicKeyFile(material));
  return {
    pubPath: join(dir, pubName),
    fingerprint: fingerprint(master),
    privatePath: join(dir, PRIVATE_FILE),
    publicPath: join(dir, PUBLIC_FILE),
  };
}

/** Refuses a key file that group or others may read or write, naming the fix. */
export function assertPrivateMode(path: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err: unknown) {
    const code = errnoCode(err);
    const hint = code === 'ENOENT' ? ': run "fim keygen" first' : '';
    throw new KeyError(`cannot read key file ${path}: ${code ?? String(err)}${hint}`, { cause: err });
  }
  if ((mode & 0o077) !== 0) {
    const shown = (mode & 0o7777).toString(8).padStart(4, '0');
    throw new KeyError(
      `key file ${path} is accessible by group or others (mode ${shown}): run "chmod 600 ${path}" and check who may have copied it`,
    );
  }
}

class FileKeyStore implements KeyStore {
  readonly dir: string;
  readonly host: string;
  readonly material: PublicMaterial;
  private readonly seeds: Map<number, Buffer>;
  private readonly signers = new Map<number, { signer: EpochSigner; erased: { value: boolean } }>();

  constructor(dir: string, material: PublicMaterial, seeds: Map<number, Buffer>) {
    this.dir = dir;
    this.host = material.host;
    this.material = material;
    this.seeds = seeds;
  }

  heldEpochs(): number[] {
    return [...this.seeds.keys()].sort((a, b) => a - b);
  }

  erasePast(now?: number | Date): number {
    const current = epochAt(this.material, toMs(now));
    const past = [...this.seeds.keys()].filter((e) => e < current);
    if (past.length === 0) return 0;
    // Re-read the file rather than writing our copy: another fim process may already have erased
    // more, and writing our in-memory set back would resurrect keys it destroyed.
    const path = join(this.dir, PRIVATE_FILE);
    const onDisk = readPrivateFile(path);
    let removed = 0;
    for (const [epoch, seed] of onDisk.keys) {
      if (epoch < current) {
        seed.fill(0);
        onDisk.keys.delete(epoch);
        removed++;
      }
    }
    if (removed > 0) writeFileAtomic(this.dir, PRIVATE_FILE, serialisePrivate(onDisk.host, onDisk.keys));
    for (const seed of onDisk.keys.values()) seed.fill(0);
    for (const e of past) {
      this.seeds.get(e)?.fill(0);
      this.seeds.delete(e);
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
    const seed = this.seeds.get(epoch);
    if (!seed) {
      throw new KeyError(
        `the private key of epoch ${epoch} was already erased (clock moved back, or keys damaged): check the time`,
      );
    }
    const cert = m.certs[epoch]!;
    const key = privateKeyFromSeed(seed);
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
  assertPrivateMode(privatePath);
  assertPrivateMode(publicPath);
  const material = readPublicMaterial(dir);
  const priv = readPrivateFile(privatePath);
  if (priv.host !== material.host) {
    throw new KeyError(`${privatePath} is for host ${priv.host} but ${publicPath} for ${material.host}`);
  }
  return new FileKeyStore(dir, material, priv.keys);
}
