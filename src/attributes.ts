/**
 * THE attribute table (after AIDE's src/attributes.c), in two parts:
 * - ATTRIBUTES (here): each checkable attribute, with its label, equality, presence and display.
 *   Policy presets, compare, the reports and the alerts read from it.
 * - RECORD_FIELDS (src/fields.ts): each stored field of a FileRecord, with its column, its journal
 *   key and its kind, which fix its codecs.
 * Adding an attribute is a field row (if it stores something new, in a new root format), an
 * attribute row, and its reader (src/scan/record.ts; src/scan/extended.ts for what lies beyond
 * lstat, decoded for display in src/extended/).
 */

import { displayBytes } from './display.js';
import { aclText } from './extended/acl.js';
import { capsText } from './extended/caps.js';
import { flagsEqual, flagsText } from './extended/flags.js';
import { taggedDisplay, taggedEqual } from './extended/value.js';
import { xattrsText } from './extended/xattrs.js';
import { nsToIso } from './ns-time.js';
import type { AttributeName, FileRecord } from './types.js';

export type DisplayValue = string | number | null;

export interface AttributeSpec {
  name: AttributeName;
  /** Short human label for text reports. */
  label: string;
  /** Equal in the sense that matters for integrity. Attributes missing on either side are not compared. */
  equal(a: FileRecord, b: FileRecord): boolean;
  /** Present on this record (content only exists for hashed regular files, target for symlinks). */
  present(r: FileRecord): boolean;
  display(r: FileRecord): DisplayValue;
}

/** A bigint as a JSON-safe number when it fits, else as a decimal string. */
export function bigToDisplay(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}

export function modeToDisplay(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

const always = () => true;

type TaggedField = 'caps' | 'acl' | 'selinux' | 'xattrs' | 'flags';

/** A row for an attribute read beyond lstat (src/extended/value.ts): "unsupported" never differs. */
function tagged(
  name: TaggedField,
  label: string,
  show: (value: Buffer) => string,
  same?: (x: Buffer, y: Buffer) => boolean,
): AttributeSpec {
  return {
    name,
    label,
    equal: (a, b) => {
      const x = a[name];
      const y = b[name];
      return x !== null && y !== null && taggedEqual(x, y, same);
    },
    present: (r) => r[name] !== null,
    display: (r) => {
      const v = r[name];
      return v === null ? null : taggedDisplay(v, show);
    },
  };
}

export const ATTRIBUTES: readonly AttributeSpec[] = [
  {
    name: 'type',
    label: 'type',
    equal: (a, b) => a.type === b.type,
    present: always,
    display: (r) => r.type,
  },
  {
    name: 'mode',
    label: 'mode',
    equal: (a, b) => a.mode === b.mode,
    present: always,
    display: (r) => modeToDisplay(r.mode),
  },
  { name: 'uid', label: 'owner', equal: (a, b) => a.uid === b.uid, present: always, display: (r) => r.uid },
  { name: 'gid', label: 'group', equal: (a, b) => a.gid === b.gid, present: always, display: (r) => r.gid },
  {
    name: 'size',
    label: 'size',
    equal: (a, b) => a.size === b.size,
    present: always,
    display: (r) => bigToDisplay(r.size),
  },
  {
    name: 'mtime',
    label: 'mtime',
    equal: (a, b) => a.mtime === b.mtime,
    present: always,
    display: (r) => nsToIso(r.mtime),
  },
  {
    name: 'ctime',
    label: 'ctime',
    equal: (a, b) => a.ctime === b.ctime,
    present: always,
    display: (r) => nsToIso(r.ctime),
  },
  {
    name: 'inode',
    label: 'inode',
    // An inode number means nothing on another device: a file moved across file systems changed.
    equal: (a, b) => a.inode === b.inode && a.dev === b.dev,
    present: always,
    display: (r) => bigToDisplay(r.inode),
  },
  {
    name: 'nlink',
    label: 'links',
    equal: (a, b) => a.nlink === b.nlink,
    present: always,
    display: (r) => r.nlink,
  },
  {
    name: 'target',
    label: 'link target',
    equal: (a, b) => a.target !== null && b.target !== null && a.target.equals(b.target),
    present: (r) => r.target !== null,
    display: (r) => (r.target === null ? null : displayBytes(r.target)),
  },
  {
    name: 'content',
    label: 'content (BLAKE3)',
    equal: (a, b) => a.content !== null && b.content !== null && a.content.equals(b.content),
    present: (r) => r.content !== null,
    display: (r) => (r.content === null ? null : r.content.toString('hex')),
  },
  // Kept where a rule says `hashes: [blake3, sha256]`, and compared wherever content is.
  {
    name: 'sha256',
    label: 'content (SHA-256)',
    equal: (a, b) => a.sha256 !== null && b.sha256 !== null && a.sha256.equals(b.sha256),
    present: (r) => r.sha256 !== null,
    display: (r) => (r.sha256 === null ? null : r.sha256.toString('hex')),
  },
  tagged('caps', 'capabilities', capsText),
  tagged('acl', 'ACL', aclText),
  tagged('selinux', 'SELinux label', (v) => displayBytes(v[v.length - 1] === 0 ? v.subarray(0, -1) : v)),
  tagged('xattrs', 'xattrs', xattrsText),
  tagged('flags', 'inode flags', flagsText, flagsEqual),
];

export const ATTRIBUTE_BY_NAME: ReadonlyMap<AttributeName, AttributeSpec> = new Map(
  ATTRIBUTES.map((a) => [a.name, a]),
);

export const PRESET_NAMES = ['readonly', 'dynamic', 'growing', 'existence'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const ALL: readonly AttributeName[] = ATTRIBUTES.map((a) => a.name);
/** What changes as a file is written; everything else (capabilities and flags included) does not. */
const DYNAMIC = ALL.filter((a) => !['content', 'sha256', 'size', 'mtime', 'ctime'].includes(a));

/**
 * Presets after Tripwire's. `growing` is `dynamic` plus a rule the compare applies itself: the size
 * may only grow and the bytes present at baseline must be unchanged.
 */
export const PRESETS: Readonly<Record<PresetName, readonly AttributeName[]>> = {
  readonly: ALL,
  dynamic: DYNAMIC,
  growing: DYNAMIC,
  existence: ['type'],
};

/** The attribute set a rule compares, and whether the growing-file rule applies. */
export interface CheckSpec {
  attributes: ReadonlySet<AttributeName>;
  growing: boolean;
}

/** All display values of a record, for `added`/`removed` findings and `policy explain`. */
export function recordDisplay(r: FileRecord): Record<string, DisplayValue> {
  const out: Record<string, DisplayValue> = {};
  for (const a of ATTRIBUTES) if (a.present(r)) out[a.name] = a.display(r);
  return out;
}
