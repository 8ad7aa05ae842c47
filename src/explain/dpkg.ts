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

/** The index, compact: a path's number, then its MD5 and package by that number (16 + 4 bytes). */
interface Loaded {
  byPath: Map<string, number>;
  md5: Buffer;
  pkg: Uint32Array;
  packages: { name: string; version: string | null; list: Buffer }[];
}

/** 32 lower-case hex digits at the start of `line`, as 16 bytes at `out[at]`; false if they are not. */
function hexInto(line: Buffer, out: Buffer, at: number): boolean {
  const nibble = (c: number) => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1);
  for (let i = 0; i < 16; i++) {
    const hi = nibble(line[2 * i] ?? 0);
    const lo = nibble(line[2 * i + 1] ?? 0);
    if (hi < 0 || lo < 0) return false;
    out[at + i] = (hi << 4) | lo;
  }
  return true;
}

export class DpkgIndex {
  private loaded: Loaded | null = null;
  readonly problems: string[] = [];

  constructor(private readonly adminDir: string) {}

  lookup(path: Buffer): DpkgEntry | undefined {
    this.loaded ??= this.load();
    // Keys are the md5sums' own paths: relative to /, as dpkg writes them.
    const key = path.subarray(1).toString('latin1');
    // Merged /usr (Debian 12): packages list bin/cat, which lives at /usr/bin/cat.
    const merged = /^usr\/((?:bin|sbin|lib|lib32|lib64|libx32)\/.*)$/.exec(key)?.[1];
    const { byPath, md5, pkg, packages } = this.loaded;
    const i = byPath.get(key) ?? (merged ? byPath.get(merged) : undefined);
    if (i === undefined) return undefined;
    const p = packages[pkg[i] ?? 0];
    if (!p) return undefined;
    return {
      md5: Buffer.from(md5.subarray(i * 16, i * 16 + 16)),
      package: p.name,
      version: p.version,
      list: p.list,
    };
  }

  private load(): Loaded {
    const byPath = new Map<string, number>();
    let md5 = Buffer.alloc(16 * 4096);
    let count = 0;
    const pkgs: number[] = [];
    const packages: Loaded['packages'] = [];
    const versions = this.versions();
    const info = join(this.adminDir, 'info');
    const scratch = { buf: Buffer.allocUnsafe(1 << 20) };
    let names: string[] = [];
    try {
      names = readdirSync(info).filter((n) => n.endsWith('.md5sums'));
    } catch {
      // no dpkg here: nothing to explain by
    }
    for (const name of names.slice(0, MAX_PACKAGES)) {
      const pkg = name.slice(0, -'.md5sums'.length).replace(/:[^:]+$/, '');
      // Debian policy 5.6.1: package names are lower-case letters, digits, + - and .
      if (!/^[a-z0-9][a-z0-9+.-]*$/.test(pkg)) continue;
      const list = Buffer.from(join(info, name));
      const r = readBounded(list, MAX_FILE_BYTES, scratch);
      if (!r.ok) {
        this.problems.push(`${join(info, name)}: ${r.problem}`);
        continue;
      }
      const p = packages.push({ name: pkg, version: versions.get(pkg) ?? null, list }) - 1;
      // Lines are "<32 hex>  <path relative to />": the path is bytes up to the newline.
      let start = 0;
      const b = r.bytes;
      while (start < b.length) {
        let end = b.indexOf(0x0a, start);
        if (end < 0) end = b.length;
        const line = b.subarray(start, end);
        start = end + 1;
        if (line.length < 35 || line[32] !== 0x20 || line[33] !== 0x20) continue;
        if ((count + 1) * 16 > md5.length) {
          const bigger = Buffer.alloc(md5.length * 2);
          md5.copy(bigger);
          md5 = bigger;
        }
        // The hex digest, decoded in place: no string per line (95,000 lines, one pass).
        if (!hexInto(line, md5, count * 16)) continue;
        byPath.set(line.subarray(34).toString('latin1'), count++);
        pkgs.push(p);
      }
    }
    return { byPath, md5: md5.subarray(0, count * 16), pkg: Uint32Array.from(pkgs), packages };
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
