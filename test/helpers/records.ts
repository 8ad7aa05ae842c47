/** A plain FileRecord (and a deploy's explanation) for unit tests that care about a field or two of it. */
import type { Explanation, FileRecord } from '../../src/types.js';

/** The fields a scan reads beyond lstat and content, as a baseline that did not read them holds them. */
export const UNREAD = {
  sha256: null,
  caps: null,
  acl: null,
  selinux: null,
  xattrs: null,
  flags: null,
} as const;

export function fileRecord(path: string | Buffer, over: Partial<FileRecord> = {}): FileRecord {
  return {
    path: Buffer.isBuffer(path) ? path : Buffer.from(path),
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 1n,
    mtime: 1n,
    ctime: 1n,
    inode: 1n,
    dev: 1n,
    nlink: 1,
    target: null,
    content: null,
    ...UNREAD,
    ...over,
  };
}

/** A signed deploy manifest's explanation of a finding: app r2 matches, unless `over` says otherwise. */
export function deployExplanation(over: Partial<Explanation> = {}): Explanation {
  return {
    source: 'deploy',
    strength: 'signed-manifest',
    manifest: Buffer.from('/srv/app.manifest'),
    package: 'app',
    version: 'r2',
    verdict: 'matches',
    digest: 'blake3',
    ...over,
  };
}
