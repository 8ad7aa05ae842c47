/**
 * Signed deploy manifests: made where the build happens (`fim manifest create DIR`), listing every
 * regular file under DIR by its path bytes and BLAKE3, signed with a deploy key (Ed25519) whose
 * private half never reaches the host; the host trusts the public half (`explain.deploy_keys` in
 * fim.yaml) and finds the manifest where the deploy put it (`explain.deploy_manifests`). It is the
 * one explanation an intruder on the host cannot make: strength `signed-manifest`, the only one
 * that lowers a finding's severity (one step).
 *
 * The file is JSON around the signed bytes: `{format, key, body, signature}`, `body` being base64
 * of a text the signature covers byte for byte (no re-serialisation to trust):
 *   fim-deploy-manifest/1 \n name=N \n version=V \n root=<hex path> \n created=<ISO> \n
 *   then one line per file: <hex path below root> <BLAKE3 hex>, sorted by path bytes.
 * Hostile input: bounded (64 MiB, 5 million files), every line checked, and one that does not
 * parse refuses the whole manifest.
 */
import { type BigIntStats, lstatSync, readdirSync } from 'node:fs';
import { writeFileAtomicSync } from '../atomic-file.js';
import { UsageError } from '../errors.js';
import { FileHasher } from '../hash/hash-file.js';
import {
  decodeBase64Strict,
  ED25519_KEY_BYTES,
  ED25519_SIG_BYTES,
  generateRawKeyPair,
  privateKeyFromSeed,
  signRaw,
  verifyRaw,
} from '../keys/ed25519.js';
import { joinPath } from '../path-key.js';
import { readBounded } from './bounded.js';

const FORMAT = 'fim-deploy-manifest/1';
const KEY_FORMAT = 'fim-deploy-key/1';
const MAX_MANIFEST_BYTES = 64 << 20;
const MAX_FILES = 5_000_000;
const HEX = /^(?:[0-9a-f]{2})+$/;
/** Names, versions and times: printable ASCII without spaces, as `create` makes them. */
const PRINTABLE = /^[\x21-\x7e]{1,200}$/;

export interface DeployManifest {
  file: string;
  name: string;
  version: string;
  root: Buffer;
  created: string;
  /** Absolute path (latin1) → BLAKE3. */
  entries: Map<string, Buffer>;
}

/** A deploy key pair: FILE (the private seed, 0600) and FILE.pub (the public key, to trust on hosts). */
export function deployKeygen(file: string, force = false): { priv: string; pub: string } {
  const { seed, pub } = generateRawKeyPair();
  const pubFile = `${file}.pub`;
  if (!force) {
    for (const f of [file, pubFile]) {
      try {
        lstatSync(f);
        throw new UsageError(`${f} exists: give --force to replace it`);
      } catch (err) {
        if (err instanceof UsageError) throw err;
      }
    }
  }
  writeFileAtomicSync(file, `${JSON.stringify({ format: KEY_FORMAT, seed: seed.toString('base64') })}\n`, {
    mode: 0o600,
  });
  writeFileAtomicSync(pubFile, `${JSON.stringify({ format: KEY_FORMAT, pub: pub.toString('base64') })}\n`, {
    mode: 0o644,
  });
  return { priv: file, pub: pubFile };
}

function readKeyField(file: string, field: 'seed' | 'pub'): Buffer {
  const r = readBounded(file, 4096);
  if (!r.ok) throw new UsageError(`deploy key ${file}: ${r.problem}`);
  let o: unknown;
  try {
    o = JSON.parse(r.bytes.toString('utf8'));
  } catch {
    throw new UsageError(`deploy key ${file}: not a fim deploy key (JSON)`);
  }
  const v = (o as Record<string, unknown> | null)?.[field];
  const b = typeof v === 'string' ? decodeBase64Strict(v, ED25519_KEY_BYTES) : null;
  if ((o as Record<string, unknown> | null)?.format !== KEY_FORMAT || !b)
    throw new UsageError(
      `deploy key ${file}: not a fim deploy ${field === 'seed' ? 'private' : 'public'} key`,
    );
  return b;
}

export function readDeployPublicKey(file: string): Buffer {
  return readKeyField(file, 'pub');
}

/** Walk `dir` (by bytes, never following a symlink) and BLAKE3 every regular file below it. */
function listTree(dir: Buffer): { rel: Buffer; blake3: Buffer }[] {
  const hasher = new FileHasher();
  const out: { rel: Buffer; blake3: Buffer }[] = [];
  const walk = (abs: Buffer, rel: Buffer | null) => {
    for (const name of readdirSync(abs, { encoding: 'buffer' }).sort(Buffer.compare)) {
      const p = joinPath(abs, name);
      const r = rel === null ? name : Buffer.concat([rel, Buffer.from('/'), name]);
      const st: BigIntStats = lstatSync(p, { bigint: true });
      if (st.isDirectory()) walk(p, r);
      else if (st.isFile()) {
        const h = hasher.hash(p, st);
        if (!h.ok) throw new UsageError(`cannot hash ${p.toString()}: ${h.message}`);
        out.push({ rel: r, blake3: h.content });
      }
    }
  };
  walk(dir, null);
  return out.sort((a, b) => Buffer.compare(a.rel, b.rel));
}

/**
 * Make and sign a manifest of `dir`, listed under `as` (the absolute path the files will have on
 * the hosts; default `dir` itself), so a build can sign what it is about to ship before shipping it.
 */
export function createManifest(o: {
  dir: string;
  as?: string;
  keyFile: string;
  name: string;
  version: string;
  out: string;
  nowIso: string;
}): { files: number; out: string } {
  const on = o.as ?? o.dir;
  if (!on.startsWith('/')) throw new UsageError(`manifest directory "${on}" must be absolute`);
  for (const [what, v] of [
    ['name', o.name],
    ['version', o.version],
  ] as const)
    if (!PRINTABLE.test(v))
      throw new UsageError(`manifest ${what} "${v}": printable ASCII without spaces, 1 to 200 characters`);
  const seed = readKeyField(o.keyFile, 'seed');
  const root = Buffer.from(on.replace(/\/+$/, '') || '/');
  const files = listTree(Buffer.from(o.dir));
  const lines = [
    FORMAT,
    `name=${o.name}`,
    `version=${o.version}`,
    `root=${root.toString('hex')}`,
    `created=${o.nowIso}`,
  ];
  for (const f of files) lines.push(`${f.rel.toString('hex')} ${f.blake3.toString('hex')}`);
  const body = Buffer.from(`${lines.join('\n')}\n`);
  const signature = signRaw(privateKeyFromSeed(seed), body);
  const pub = publicOfSeed(seed);
  writeFileAtomicSync(
    o.out,
    `${JSON.stringify({ format: FORMAT, key: pub.toString('base64'), body: body.toString('base64'), signature: signature.toString('base64') })}\n`,
    { mode: 0o644 },
  );
  return { files: files.length, out: o.out };
}

/** The raw public key of a private seed (its JWK's `x`). */
function publicOfSeed(seed: Buffer): Buffer {
  const jwk = privateKeyFromSeed(seed).export({ format: 'jwk' }) as { x?: string };
  return Buffer.from(jwk.x ?? '', 'base64url');
}

/**
 * A manifest the host may believe: signed by one of `trusted` (raw public keys), every line well
 * formed. Otherwise the problem, for the check's notes.
 */
export function loadManifest(
  file: string,
  trusted: readonly Buffer[],
): { ok: true; manifest: DeployManifest } | { ok: false; problem: string } {
  const bad = (why: string) => ({ ok: false as const, problem: `deploy manifest ${file}: ${why}` });
  const r = readBounded(file, MAX_MANIFEST_BYTES);
  if (!r.ok) return bad(r.problem);
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(r.bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    return bad('not JSON');
  }
  if (o.format !== FORMAT) return bad(`not a ${FORMAT} file`);
  const key = typeof o.key === 'string' ? decodeBase64Strict(o.key, ED25519_KEY_BYTES) : null;
  const sig = typeof o.signature === 'string' ? decodeBase64Strict(o.signature, ED25519_SIG_BYTES) : null;
  const body = typeof o.body === 'string' ? Buffer.from(o.body, 'base64') : null;
  if (!key || !sig || !body || body.toString('base64') !== o.body)
    return bad('malformed key, body or signature');
  if (!trusted.some((t) => t.equals(key)))
    return bad('signed by a key this host does not trust (explain.deploy_keys)');
  if (!verifyRaw(key, body, sig)) return bad('bad signature: it was altered after it was signed');
  const lines = body.toString('latin1').split('\n');
  if (lines.pop() !== '' || lines[0] !== FORMAT) return bad('malformed body');
  const field = (i: number, name: string) => {
    const l = lines[i] ?? '';
    return l.startsWith(`${name}=`) ? l.slice(name.length + 1) : undefined;
  };
  const name = field(1, 'name');
  const version = field(2, 'version');
  const rootHex = field(3, 'root');
  const created = field(4, 'created');
  if (!name || !version || !rootHex || !HEX.test(rootHex) || !created) return bad('malformed header');
  if (!PRINTABLE.test(name) || !PRINTABLE.test(version) || !PRINTABLE.test(created))
    return bad('malformed header');
  const root = Buffer.from(rootHex, 'hex');
  if (lines.length - 5 > MAX_FILES) return bad(`more than ${MAX_FILES} files`);
  const entries = new Map<string, Buffer>();
  for (let i = 5; i < lines.length; i++) {
    const [relHex, digest, extra] = (lines[i] as string).split(' ');
    if (!relHex || !HEX.test(relHex) || !digest || !/^[0-9a-f]{64}$/.test(digest) || extra !== undefined)
      return bad(`line ${i + 1} is not "<hex path> <BLAKE3>"`);
    entries.set(joinPath(root, Buffer.from(relHex, 'hex')).toString('latin1'), Buffer.from(digest, 'hex'));
  }
  return { ok: true, manifest: { file, name, version, root, created, entries } };
}
