/**
 * The domain types shared by every module. Paths are always raw bytes (`Buffer`): a Linux file name
 * can be any bytes but `/` and NUL, and a lossy trip through a JS string would let an intruder hide
 * one file behind another's name.
 */

export const FILE_TYPES = ['file', 'dir', 'symlink', 'fifo', 'socket', 'char', 'block', 'unknown'] as const;
export type FileType = (typeof FILE_TYPES)[number];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ATTRIBUTE_NAMES = [
  'type',
  'mode',
  'uid',
  'gid',
  'size',
  'mtime',
  'ctime',
  'inode',
  'nlink',
  'target',
  'content',
  'sha256',
  'caps',
  'acl',
  'selinux',
  'xattrs',
  'flags',
] as const;
export type AttributeName = (typeof ATTRIBUTE_NAMES)[number];

/** What a scan learns about one file system entry. Times are nanoseconds since the epoch. */
export interface FileRecord {
  path: Buffer;
  type: FileType;
  /** All 12 permission bits: setuid, setgid and sticky included. */
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  mtime: bigint;
  ctime: bigint;
  inode: bigint;
  dev: bigint;
  nlink: number;
  /** A symlink's target, as bytes; null for anything else. */
  target: Buffer | null;
  /** BLAKE3-256 of the content, for regular files whose rule asks for it; null otherwise. */
  content: Buffer | null;
  /** SHA-256 of the content, where the rule says `hashes: [blake3, sha256]`; null otherwise. */
  sha256: Buffer | null;
  /**
   * What the inode carries beyond lstat (src/extended/): each a tagged value (unsupported, absent,
   * or present with its bytes), or null when not read (the rule does not ask, or an older baseline).
   * `caps`: security.capability; `acl`: the access and default POSIX ACLs; `selinux`: the label;
   * `xattrs`: every other extended attribute, as names and value digests; `flags`: the inode flags.
   */
  caps: Buffer | null;
  acl: Buffer | null;
  selinux: Buffer | null;
  xattrs: Buffer | null;
  flags: Buffer | null;
  /**
   * For `growing` rules only: BLAKE3-256 of the first `prefixLength` bytes, where that length is the
   * baseline's size, so an append is allowed and an edit of the old part is not.
   */
  prefix?: { length: bigint; hash: Buffer } | null;
}

/** An entry the scan could not record faithfully (unreadable, unstable, a symlinked parent...). */
export interface ScanError {
  path: Buffer;
  /** errno code (EACCES, ENOENT...) or one of ours: EUNSTABLE, ESYMLINKPARENT, ERACE. */
  code: string;
  message: string;
}

export type FindingKind = 'added' | 'removed' | 'changed';

/** Which manifests may explain a change: a signed deploy manifest, a wheel's RECORD, dpkg's md5sums. */
export const MANIFEST_SOURCES = ['deploy', 'pip', 'dpkg'] as const;
export type ManifestSource = (typeof MANIFEST_SOURCES)[number];

/**
 * How much an explanation is worth, weakest first: a wheel's RECORD is as easy for an intruder on
 * the host to edit as the file it lists (corroboration); dpkg's md5sums is root's too, and MD5;
 * a deploy manifest is signed where the build happens, with a key the host only verifies.
 */
export const STRENGTHS = ['pip-record', 'package-db', 'signed-manifest'] as const;
export type Strength = (typeof STRENGTHS)[number];

/** What a manifest says about a finding's new content (src/explain/). */
export interface Explanation {
  source: ManifestSource;
  strength: Strength;
  /** The manifest file (a RECORD, a .md5sums, a deploy manifest). */
  manifest: Buffer;
  /** The package or deploy name, and its version where the manifest gives one. */
  package: string;
  version: string | null;
  /**
   * `matches`: the new content is what the manifest lists. `differs`: it lists this path with other
   * bytes (changed after the install or deploy). `unlisted`: a deploy manifest covers the directory
   * but does not list the file (nothing the deploy shipped).
   */
  verdict: 'matches' | 'differs' | 'unlisted';
  /** The digest compared (a manifest's own: BLAKE3 for deploys, SHA-256 for wheels, MD5 for dpkg). */
  digest: 'blake3' | 'sha256' | 'md5';
}

export interface AttributeChange {
  attribute: AttributeName;
  /** Display values (see attributes.ts): numbers, or strings such as "0644", ISO times, hex hashes. */
  old: string | number | null;
  new: string | number | null;
}

export interface Finding {
  kind: FindingKind;
  path: Buffer;
  rule: string;
  severity: Severity;
  /** For `changed`: the attributes the rule checks that differ. */
  changes: AttributeChange[];
  /** The new record for `added`, the old one for `removed`, the new one for `changed`. */
  record: FileRecord;
  /** When the scan found it (ns since the epoch); set where findings are made (ops/check.ts). */
  observedNs?: bigint;
  /** What a manifest says about it, where the rule lets manifests explain (never a suppression). */
  explanation?: Explanation;
  /** The rule's severity, where a signed deploy manifest lowered this finding's by one step. */
  severityBefore?: Severity;
  /** The process that made the change, where the daemon's watcher could tell (fanotify). */
  who?: Who;
}

/**
 * A writing process as the daemon saw it at event time (src/watch/attribution.ts). Everything but
 * `pid` may be missing; `exited`: the process was gone before it could be read whole, and the rest
 * is what was known. Text fields are display form (src/display.ts): exe and arguments are bytes
 * chosen by whoever ran the process.
 */
export interface Who {
  pid: number;
  exited: boolean;
  uid?: number;
  /** /proc/PID/loginuid: the login session's user, kept across su and sudo (4294967295: none). */
  loginuid?: number;
  exe?: string;
  cmdline?: string[];
  ppid?: number;
  pexe?: string;
  cgroup?: string;
  /** A container id (64 hex digits) found in the cgroup path, if any. */
  container?: string;
}

/** Where a command or the demo writes: results on `out`, diagnostics on `err`. */
export interface Output {
  out: (s: string) => void;
  err: (s: string) => void;
}
