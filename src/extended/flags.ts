/**
 * Inode flags (FS_IOC_GETFLAGS) as the letters `lsattr` prints, in its order (e2fsprogs
 * lib/e2p/pf.c): `i` immutable, `a` append only, `e` extents, and the rest. Shown as the letters
 * that are set (`ie`), `(none)` when none is.
 *
 * Two flags are the file system's own business and are not compared: `I` (a directory's hashed
 * index, set by ext4 when the directory grows past a block) and `N` (inline data, which changes
 * with the size). Flags this table does not know are compared and shown in hex.
 */

const LETTERS: readonly (readonly [number, string])[] = [
  [0x00000001, 's'],
  [0x00000002, 'u'],
  [0x00000008, 'S'],
  [0x00010000, 'D'],
  [0x00000010, 'i'],
  [0x00000020, 'a'],
  [0x00000040, 'd'],
  [0x00000080, 'A'],
  [0x00000004, 'c'],
  [0x00000800, 'E'],
  [0x00004000, 'j'],
  [0x00001000, 'I'],
  [0x00008000, 't'],
  [0x00020000, 'T'],
  [0x00080000, 'e'],
  [0x00800000, 'C'],
  [0x02000000, 'x'],
  [0x40000000, 'F'],
  [0x10000000, 'N'],
  [0x20000000, 'P'],
  [0x00100000, 'V'],
  [0x00000400, 'm'],
];

/** Set and cleared by the file system itself: not an intruder's doing. */
const OWN = 0x00001000 | 0x10000000;
/** Kept by ext4 for its own bookkeeping and never shown by lsattr (huge file, EA inode, EOF blocks). */
const INTERNAL = 0x00040000 | 0x00200000 | 0x00400000;
const KNOWN = LETTERS.reduce((m, [bit]) => m | bit, 0);

export function encodeFlags(flags: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(flags >>> 0);
  return b;
}

export function decodeFlags(v: Buffer): number | undefined {
  return v.length === 4 ? v.readUInt32BE(0) : undefined;
}

export function flagsEqual(a: Buffer, b: Buffer): boolean {
  const x = decodeFlags(a);
  const y = decodeFlags(b);
  if (x === undefined || y === undefined) return a.equals(b);
  const mask = ~(OWN | INTERNAL);
  return (x & mask) >>> 0 === (y & mask) >>> 0;
}

export function flagsText(v: Buffer): string {
  const f = decodeFlags(v);
  if (f === undefined) return `invalid flags data 0x${v.toString('hex')}`;
  let s = '';
  for (const [bit, letter] of LETTERS) if (f & bit) s += letter;
  const unknown = (f & ~KNOWN & ~INTERNAL) >>> 0;
  if (unknown !== 0) s += `${s ? ' ' : ''}0x${unknown.toString(16).padStart(8, '0')}`;
  return s === '' ? '(none)' : s;
}
