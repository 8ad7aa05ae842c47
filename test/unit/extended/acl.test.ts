/** POSIX ACLs in getfacl's short form with numeric ids (the live comparison is in e2e). */
import { describe, expect, it } from 'vitest';
import { aclText, decodeAcl, encodeAcl } from '../../../src/extended/acl.js';

const entry = (tag: number, perm: number, id = 0xffffffff) => {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(tag, 0);
  b.writeUInt16LE(perm, 2);
  b.writeUInt32LE(id, 4);
  return b;
};
const acl = (...entries: Buffer[]) => Buffer.concat([Buffer.from('02000000', 'hex'), ...entries]);
const ACCESS = acl(
  entry(1, 6),
  entry(2, 4, 1000),
  entry(4, 4),
  entry(8, 7, 33),
  entry(0x10, 5),
  entry(0x20, 0),
);
const DEFAULT = acl(entry(1, 7), entry(4, 5), entry(0x20, 5));

describe('ACLs', () => {
  it('shows the access ACL in short form', () => {
    expect(aclText(encodeAcl(ACCESS, null))).toBe('u::rw-,u:1000:r--,g::r--,g:33:rwx,m::r-x,o::---');
  });

  it('shows default entries with d:', () => {
    expect(aclText(encodeAcl(ACCESS, DEFAULT))).toBe(
      'u::rw-,u:1000:r--,g::r--,g:33:rwx,m::r-x,o::---,d:u::rwx,d:g::r-x,d:o::r-x',
    );
    expect(aclText(encodeAcl(null, DEFAULT))).toBe('d:u::rwx,d:g::r-x,d:o::r-x');
  });

  it('keeps both xattrs exactly: encode and decode are inverse', () => {
    for (const [a, d] of [
      [ACCESS, DEFAULT],
      [null, DEFAULT],
      [ACCESS, null],
      [Buffer.alloc(0), null],
    ] as const) {
      const back = decodeAcl(encodeAcl(a, d));
      expect(back?.access?.equals(a ?? Buffer.alloc(0)) ?? a === null).toBe(true);
      expect(back?.dflt?.equals(d ?? Buffer.alloc(0)) ?? d === null).toBe(true);
    }
  });

  it('shows what the kernel would not have written in hex', () => {
    expect(aclText(encodeAcl(Buffer.from('01000000', 'hex'), null))).toBe('invalid 0x01000000');
    expect(aclText(encodeAcl(acl(entry(0x40, 4)), null))).toMatch(/^invalid 0x02000000/);
    expect(aclText(Buffer.from('00000005ab', 'hex'))).toMatch(/^invalid ACL data/);
  });
});
