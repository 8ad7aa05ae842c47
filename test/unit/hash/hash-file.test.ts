/**
 * BLAKE3 through the descriptor: the official BLAKE3 test vectors (input byte i is i % 251) hashed
 * from real files, whole and with a read buffer smaller than the file, and a growing file's prefix
 * hash from the same read. Pins the behaviour of the native package whatever release is installed.
 */
import { lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileHasher } from '../../../src/hash/hash-file.js';

// From BLAKE3's test_vectors.json (the first 32 bytes of each extended output).
const VECTORS: ReadonlyArray<readonly [number, string]> = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
  [2048, 'e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a'],
  [102400, 'bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085'],
];

const input = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i % 251));
const dir = mkdtempSync(join(tmpdir(), 'fim-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fileOf(n: number): string {
  const p = join(dir, `v${n}`);
  writeFileSync(p, input(n));
  return p;
}

describe('FileHasher', () => {
  it.each(VECTORS)('hashes %i bytes to the BLAKE3 test vector, in one read and in many', (n, hex) => {
    const p = fileOf(n);
    for (const h of [new FileHasher(), new FileHasher(1000)]) {
      const r = h.hash(p, lstatSync(p, { bigint: true }));
      expect(r.ok && r.content.toString('hex')).toBe(hex);
    }
  });

  it('gives the prefix hash of a growing file from the same read, at any cut', () => {
    const p = fileOf(102400);
    const h = new FileHasher(1000);
    for (const [n, hex] of VECTORS) {
      const r = h.hash(p, lstatSync(p, { bigint: true }), BigInt(n));
      expect(r.ok && r.prefix?.hash.toString('hex')).toBe(hex);
      expect(r.ok && r.content.toString('hex')).toBe(VECTORS[6]?.[1]);
    }
  });

  it('refuses a different file than the one lstat saw, and never follows a symlink', () => {
    const a = fileOf(1);
    const b = fileOf(2);
    const h = new FileHasher();
    const other = h.hash(a, lstatSync(b, { bigint: true }));
    expect(other.ok ? 'ok' : other.code).toBe('ERACE');
    const link = join(dir, 'link');
    symlinkSync(a, link);
    const viaLink = h.hash(link, lstatSync(a, { bigint: true }));
    expect(viaLink.ok ? 'ok' : viaLink.code).toBe('ERACE');
  });

  it('stops at the size fstat gave plus the slack, and reports a file still growing as unstable', () => {
    // /proc/self/maps: a regular file whose fstat size is 0 and whose read gives kilobytes, as a
    // file that a fast writer keeps growing would.
    const st = lstatSync('/proc/self/maps', { bigint: true });
    expect(st.size).toBe(0n);
    const tight = new FileHasher(4096, 0n).hash('/proc/self/maps', st);
    expect(tight.ok ? 'ok' : tight.code).toBe('EUNSTABLE');
    expect(tight.ok ? '' : tight.message).toMatch(/still growing while being read .*3 attempts/);
    // With the default slack (1 MiB), the same file is read whole.
    const roomy = new FileHasher(4096).hash('/proc/self/maps', st);
    expect(roomy.ok ? 'ok' : roomy.message).not.toMatch(/still growing/);
  });
});
