/**
 * POSIX ACLs (`system.posix_acl_access` and `system.posix_acl_default`, struct
 * posix_acl_xattr_header and its entries) in getfacl's short form with numeric ids, as `setfacl -m`
 * takes it back: `u::rw-,u:1000:r--,g::r--,m::r--,o::r--`, default entries prefixed `d:`.
 *
 * The stored value keeps both xattrs' bytes (each length-prefixed, 0xffffffff when absent), so two
 * ACLs are compared exactly, and only the display decodes them. Bytes the kernel would not have
 * written are shown in hex.
 */

const NONE = 0xffffffff;
const VERSION = 2;
const TAGS: ReadonlyMap<number, { letter: string; id: boolean }> = new Map([
  [0x01, { letter: 'u', id: false }],
  [0x02, { letter: 'u', id: true }],
  [0x04, { letter: 'g', id: false }],
  [0x08, { letter: 'g', id: true }],
  [0x10, { letter: 'm', id: false }],
  [0x20, { letter: 'o', id: false }],
]);

/** The stored value of a file's two ACL xattrs (either may be absent, not both). */
export function encodeAcl(access: Buffer | null, dflt: Buffer | null): Buffer {
  const part = (b: Buffer | null) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b === null ? NONE : b.length);
    return b === null ? [len] : [len, b];
  };
  return Buffer.concat([...part(access), ...part(dflt)]);
}

/** The two ACLs of a stored value, or undefined when it is not one encodeAcl made. */
export function decodeAcl(v: Buffer): { access: Buffer | null; dflt: Buffer | null } | undefined {
  let o = 0;
  const take = (): Buffer | null | undefined => {
    if (o + 4 > v.length) return undefined;
    const n = v.readUInt32BE(o);
    o += 4;
    if (n === NONE) return null;
    if (o + n > v.length) return undefined;
    const b = v.subarray(o, o + n);
    o += n;
    return b;
  };
  const access = take();
  const dflt = take();
  if (access === undefined || dflt === undefined || o !== v.length) return undefined;
  return { access, dflt };
}

/** One ACL xattr's entries as short-form text, or undefined when it is malformed. */
export function aclEntriesText(x: Buffer, prefix = ''): string[] | undefined {
  if (x.length < 4 || (x.length - 4) % 8 !== 0 || x.readUInt32LE(0) !== VERSION) return undefined;
  const out: string[] = [];
  for (let o = 4; o < x.length; o += 8) {
    const tag = TAGS.get(x.readUInt16LE(o));
    const perm = x.readUInt16LE(o + 2);
    if (!tag || perm > 7) return undefined;
    const id = tag.id ? String(x.readUInt32LE(o + 4)) : '';
    const rwx = `${perm & 4 ? 'r' : '-'}${perm & 2 ? 'w' : '-'}${perm & 1 ? 'x' : '-'}`;
    out.push(`${prefix}${tag.letter}:${id}:${rwx}`);
  }
  return out;
}

export function aclText(v: Buffer): string {
  const d = decodeAcl(v);
  if (!d) return `invalid ACL data 0x${v.toString('hex')}`;
  const parts: string[] = [];
  for (const [x, prefix] of [
    [d.access, ''],
    [d.dflt, 'd:'],
  ] as const) {
    if (x === null) continue;
    const entries = aclEntriesText(x, prefix);
    parts.push(...(entries ?? [`${prefix}invalid 0x${x.toString('hex')}`]));
  }
  return parts.join(',');
}
