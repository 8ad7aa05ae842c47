/**
 * Every extended attribute that is not one of the four with a meaning of their own (capabilities,
 * the two ACLs, the SELinux label): names kept as bytes, values by their BLAKE3 digest, sorted by
 * name, so `setfattr -n user.x` on any file is a change whatever its value's size.
 *
 * Stored form: for each name, a 16-bit length, the name's bytes, and the 32-byte digest. Shown as
 * `name#digest` pairs (the first 8 bytes of the digest in hex), names in the display form.
 */
import { displayBytes } from '../display.js';

export const DIGEST_BYTES = 32;
const SHOWN_DIGEST = 8;

/** The names with a meaning of their own: each is its own attribute, never in `xattrs`. */
export const OWN_NAMES: ReadonlySet<string> = new Set([
  'security.capability',
  'system.posix_acl_access',
  'system.posix_acl_default',
  'security.selinux',
]);

export function encodeXattrs(entries: readonly { name: Buffer; digest: Buffer }[]): Buffer {
  const sorted = [...entries].sort((a, b) => Buffer.compare(a.name, b.name));
  const parts: Buffer[] = [];
  for (const e of sorted) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(e.name.length);
    parts.push(len, e.name, e.digest);
  }
  return Buffer.concat(parts);
}

export function decodeXattrs(v: Buffer): { name: Buffer; digest: Buffer }[] | undefined {
  const out: { name: Buffer; digest: Buffer }[] = [];
  let o = 0;
  while (o < v.length) {
    if (o + 2 > v.length) return undefined;
    const n = v.readUInt16BE(o);
    o += 2;
    if (n === 0 || o + n + DIGEST_BYTES > v.length) return undefined;
    out.push({ name: v.subarray(o, o + n), digest: v.subarray(o + n, o + n + DIGEST_BYTES) });
    o += n + DIGEST_BYTES;
  }
  return out;
}

export function xattrsText(v: Buffer): string {
  const list = decodeXattrs(v);
  if (!list) return `invalid xattr data 0x${v.toString('hex')}`;
  return list
    .map((e) => `${displayBytes(e.name)}#${e.digest.subarray(0, SHOWN_DIGEST).toString('hex')}`)
    .join(', ');
}
