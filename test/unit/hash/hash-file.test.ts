/**
 * BLAKE3 through the descriptor: the official BLAKE3 test vectors (input byte i is i % 251) hashed
 * from real files, whole and with a read buffer smaller than the file, and a growing file's prefix
 * hash from the same read. Pins the behaviour of the native package whatever release is installed.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  lstatSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Blake3 } from '../../../src/hash/blake3.js';
import { FileHasher } from '../../../src/hash/hash-file.js';

const blake3Hex = (b: Buffer) => new Blake3().update(b).digestHex();

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

describe('FileHasher against a writer', () => {
  it('reads again a file appended to after its last read, whatever the read size', () => {
    // The hasher stops at a short read that reaches the size fstat gave (no read of 0 bytes after
    // it); bytes a writer appends then must still be seen, through the fstat after the read.
    for (const size of [0, 10, 4096, 5000]) {
      const p = join(dir, `grows-${size}`);
      writeFileSync(p, input(size));
      let appended = false;
      const h = new FileHasher(4096, undefined, () => {
        if (appended) return;
        appended = true;
        const fd = openSync(p, 'a');
        writeSync(fd, 'appended by an intruder');
        closeSync(fd);
      });
      const r = h.hash(p, lstatSync(p, { bigint: true }));
      const now = Buffer.concat([input(size), Buffer.from('appended by an intruder')]);
      if (size === 0) {
        // Nothing to read, so no chunk and no append: the empty file's hash.
        expect(r.ok && r.content.toString('hex')).toBe(VECTORS[0]?.[1]);
      } else {
        expect(r.ok && r.content.toString('hex')).toBe(blake3Hex(now));
        expect(r.ok && r.stat.size).toBe(BigInt(now.length));
      }
    }
  });
});

describe('FileHasher on sparse files', () => {
  it('hashes holes as the zeros they read as, whatever the layout, prefix cuts included', () => {
    const p = join(dir, 'sparse');
    // Data at offsets that start and end inside pages, holes between and at both ends.
    const layouts: [number, number][][] = [
      [[5 << 20, 3]],
      [
        [0, 10],
        [(2 << 20) + 100, 5000],
        [(6 << 20) - 1, 1],
      ],
      [[4096, 4096]],
    ];
    const h = new FileHasher(1 << 16);
    for (const [i, layout] of layouts.entries()) {
      const size = 8 << 20;
      execFileSync('truncate', ['-s', '0', p]);
      execFileSync('truncate', ['-s', String(size), p]);
      const dense = Buffer.alloc(size);
      const fd = openSync(p, 'r+');
      for (const [off, len] of layout) {
        const bytes = Buffer.alloc(len, 0x41 + i);
        writeSync(fd, bytes, 0, len, off);
        bytes.copy(dense, off);
      }
      closeSync(fd);
      const st = lstatSync(p, { bigint: true });
      expect(st.blocks * 512n).toBeLessThan(st.size); // really sparse
      for (const cut of [0n, 7n, 4096n, BigInt(3 << 20), BigInt(size)]) {
        const r = h.hash(p, st, cut);
        const whole = new FileHasher().hash(p, st, cut);
        expect(r.ok && whole.ok).toBe(true);
        if (!r.ok || !whole.ok) continue;
        expect(r.content.toString('hex')).toBe(blake3Hex(dense));
        expect(r.prefix?.hash.toString('hex')).toBe(blake3Hex(dense.subarray(0, Number(cut))));
      }
    }
  });
});
