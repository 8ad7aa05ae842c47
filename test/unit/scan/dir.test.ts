/**
 * Listing a directory through its own descriptor (getdents64) must give exactly the names readdir
 * gives, as bytes, however many there are (more than one buffer of records) and whatever bytes they
 * hold, with "." and ".." left out; and the directories-only listing must keep every directory.
 */
import { closeSync, constants, mkdirSync, openSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDirNames, listNames, openDir } from '../../../src/scan/dir.js';
import { Sandbox } from '../../helpers/fim.js';

let sb: Sandbox;
beforeAll(() => {
  sb = new Sandbox('fim-dir-');
  const d = sb.path('many');
  mkdirSync(d);
  // 3,000 names of 100 bytes or more: several getdents64 buffers.
  for (let i = 0; i < 3000; i++) writeFileSync(join(d, `${'x'.repeat(100)}-${i}`), '');
  for (let i = 0; i < 20; i++) mkdirSync(join(d, `dir-${i}`));
  symlinkSync('nowhere', join(d, 'link'));
  const odd = Buffer.concat([Buffer.from(`${d}/`), Buffer.from([0xff, 0xfe, 0x0a, 0x5c])]);
  writeFileSync(odd, '');
});
afterAll(() => sb.cleanup());

const open = (p: string) => openSync(p, constants.O_RDONLY | constants.O_DIRECTORY);

describe('listNames', () => {
  it('gives readdir’s names, as bytes, in byte order, without . and ..', () => {
    const fd = open(sb.path('many'));
    try {
      const want = readdirSync(sb.path('many'), { encoding: 'buffer' }).sort(Buffer.compare);
      const got = listNames(fd);
      expect(got.length).toBe(3000 + 20 + 2);
      expect(got.map((b) => b.toString('hex'))).toEqual(want.map((b) => b.toString('hex')));
    } finally {
      closeSync(fd);
    }
  });

  it('keeps every directory in the directories-only listing and counts the regular files', () => {
    const fd = open(sb.path('many'));
    try {
      const l = listDirNames(fd);
      expect(l.names.map(String)).toEqual(
        Array.from({ length: 20 }, (_, i) => `dir-${i}`).sort((a, b) =>
          Buffer.compare(Buffer.from(a), Buffer.from(b)),
        ),
      );
      expect(l.files).toBe(3001);
    } finally {
      closeSync(fd);
    }
  });

  it('opens a directory relative to its parent and refuses a symlink in its place', () => {
    const parent = open(sb.path('many'));
    try {
      const name = Buffer.from('dir-3');
      const fd = openDir(null, { dir: parent, name, nameZ: Buffer.concat([name, Buffer.alloc(1)]) });
      expect(listNames(fd)).toEqual([]);
      closeSync(fd);
      const link = Buffer.from('link');
      let code: unknown;
      try {
        openDir(null, { dir: parent, name: link, nameZ: Buffer.concat([link, Buffer.alloc(1)]) });
      } catch (err) {
        code = (err as { code?: unknown }).code;
      }
      // O_DIRECTORY|O_NOFOLLOW on a symlink: ENOTDIR here (ELOOP on some kernels); never followed.
      expect(['ENOTDIR', 'ELOOP']).toContain(code);
    } finally {
      closeSync(parent);
    }
  });
});
