/**
 * The tagged form of what a scan reads beyond lstat (capabilities, ACLs, the SELinux label, other
 * extended attributes, inode flags). One leading byte says which of three things was seen, because
 * "none" and "the file system cannot say" must never be confused:
 *   0x00 unsupported: the file system keeps no such thing (ramfs, procfs; flags on tmpfs of old);
 *   0x01 absent: it could, and this inode has none (an attacker's `setcap` makes it present);
 *   0x02 present, followed by the value's bytes.
 * A field that was not read at all (the rule does not ask, or a baseline older than the attribute)
 * is null in the record, outside this encoding.
 *
 * It must not read anything from the file system (src/scan/extended.ts does) nor know what the
 * bytes mean (caps.ts, acl.ts, flags.ts, xattrs.ts beside it).
 */

export const TAG_UNSUPPORTED = 0;
export const TAG_ABSENT = 1;
export const TAG_PRESENT = 2;

export const UNSUPPORTED: Buffer = Buffer.from([TAG_UNSUPPORTED]);
export const ABSENT: Buffer = Buffer.from([TAG_ABSENT]);

export function presentValue(value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([TAG_PRESENT]), value]);
}

/** True for a buffer this encoding makes: the stores check every stored value with it. */
export function isTagged(b: Buffer): boolean {
  const tag = b[0];
  if (tag === TAG_PRESENT) return true;
  return (tag === TAG_UNSUPPORTED || tag === TAG_ABSENT) && b.length === 1;
}

/** The value of a present tagged buffer; undefined for unsupported or absent. */
export function taggedValue(b: Buffer): Buffer | undefined {
  return b[0] === TAG_PRESENT ? b.subarray(1) : undefined;
}

/**
 * Equal for integrity: "unsupported" on either side is not comparable (a file system that cannot
 * keep an attribute did not change it); otherwise the tags and the values must match, the values
 * by `same` when given (flags ignore the bits the file system sets on its own).
 */
export function taggedEqual(a: Buffer, b: Buffer, same?: (x: Buffer, y: Buffer) => boolean): boolean {
  if (a[0] === TAG_UNSUPPORTED || b[0] === TAG_UNSUPPORTED) return true;
  if (a[0] !== b[0]) return false;
  if (a[0] !== TAG_PRESENT) return true;
  return same ? same(a.subarray(1), b.subarray(1)) : a.equals(b);
}

/** The display of a tagged value: "unsupported", "(none)", or what `show` makes of the value. */
export function taggedDisplay(b: Buffer, show: (value: Buffer) => string): string {
  if (b[0] === TAG_UNSUPPORTED) return 'unsupported';
  if (b[0] === TAG_ABSENT) return '(none)';
  return show(b.subarray(1));
}
