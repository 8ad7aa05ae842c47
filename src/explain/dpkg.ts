/**
 * dpkg's database: `info/PACKAGE[:ARCH].md5sums` lists each file a package installed (relative to
 * /) with its MD5, and `status` gives each package's version. Read once, when the first finding a
 * dpkg manifest may explain needs it (the whole database here: 718 packages, about 95,000 files).
 *
 * What it proves: that the bytes are what Debian shipped, if the database is. It is root's to
 * edit like the files, and MD5 is broken for collisions: strength `package-db`, an annotation,
 * never a lowered severity. Bounded: each file at most 64 MiB, at most 100,000 packages.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readBounded } from './bounded.js';

const MAX_FILE_BYTES = 64 << 20;
const MAX_PACKAGES = 100_000;

export interface DpkgEntry {
  md5: Buffer;
  package: string;
  version: string | null;
  list: Buffer;
}

export class DpkgIndex {
  private files: Map<string, DpkgEntry> | null = null;
  readonly problems: string[] = [];

  constructor(private readonly adminDir: string) {}

  lookup(path: Buffer): DpkgEntry | undefined {
    this.files ??= this.load();
    const key = path.toString('latin1');
    // Merged /usr (Debian 12): packages list /bin/cat, which lives at /usr/bin/cat.
    const merged = /^\/usr(\/(?:bin|sbin|lib|lib32|lib64|libx32)\/.*)$/.exec(key)?.[1];
    return this.files.get(key) ?? (merged ? this.files.get(merged) : undefined);
  }

  private load(): Map<string, DpkgEntry> {
    const files = new Map<string, DpkgEntry>();
    const versions = this.versions();
    const info = join(this.adminDir, 'info');
    let names: string[];
    try {
      names = readdirSync(info).filter((n) => n.endsWith('.md5sums'));
    } catch {
      return files;
    }
    for (const name of names.slice(0, MAX_PACKAGES)) {
      const pkg = name.slice(0, -'.md5sums'.length).replace(/:[^:]+$/, '');
      // Debian policy 5.6.1: package names are lower-case letters, digits, + - and .
      if (!/^[a-z0-9][a-z0-9+.-]*$/.test(pkg)) continue;
      const list = Buffer.from(join(info, name));
      const r = readBounded(list, MAX_FILE_BYTES);
      if (!r.ok) {
        this.problems.push(`${join(info, name)}: ${r.problem}`);
        continue;
      }
      const version = versions.get(pkg) ?? null;
      // Lines are "<32 hex>  <path relative to />": the path is bytes up to the newline.
      let start = 0;
      const b = r.bytes;
      while (start < b.length) {
        let end = b.indexOf(0x0a, start);
        if (end < 0) end = b.length;
        const line = b.subarray(start, end);
        start = end + 1;
        if (line.length < 35 || line[32] !== 0x20 || line[33] !== 0x20) continue;
        const hex = line.subarray(0, 32).toString('latin1');
        if (!/^[0-9a-f]{32}$/.test(hex)) continue;
        const path = Buffer.concat([Buffer.from('/'), line.subarray(34)]);
        files.set(path.toString('latin1'), { md5: Buffer.from(hex, 'hex'), package: pkg, version, list });
      }
    }
    return files;
  }

  /** Package → version, from the status file's stanzas. */
  private versions(): Map<string, string> {
    const out = new Map<string, string>();
    const r = readBounded(join(this.adminDir, 'status'), MAX_FILE_BYTES);
    if (!r.ok) return out;
    for (const stanza of r.bytes.toString('utf8').split(/\n\n+/)) {
      const pkg = /^Package: (.+)$/m.exec(stanza)?.[1];
      const ver = /^Version: (.+)$/m.exec(stanza)?.[1];
      if (pkg && ver && /^[A-Za-z0-9.+~:-]+$/.test(ver) && !out.has(pkg)) out.set(pkg, ver);
    }
    return out;
  }
}
