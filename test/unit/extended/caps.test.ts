/**
 * Capabilities in getcap's form. The values are what the kernel stored for each `setcap` spec on
 * this machine (getfattr -e hex), and the texts what getcap printed for them; the e2e test
 * (test/e2e/attributes.test.ts) compares against getcap live.
 */
import { describe, expect, it } from 'vitest';
import { capsText, decodeCaps } from '../../../src/extended/caps.js';

const CASES: readonly (readonly [string, string, string])[] = [
  ['cap_setuid+ep', '0100000280000000000000000000000000000000', 'cap_setuid=ep'],
  [
    'cap_net_raw,cap_net_admin+ep',
    '0100000200300000000000000000000000000000',
    'cap_net_admin,cap_net_raw=ep',
  ],
  ['cap_setuid+p', '0000000280000000000000000000000000000000', 'cap_setuid=p'],
  ['cap_setuid+i', '0000000200000000800000000000000000000000', 'cap_setuid=i'],
  ['cap_chown,cap_setuid+eip', '0100000281000000810000000000000000000000', 'cap_chown,cap_setuid=eip'],
  ['all+ep', '01000002ffffffff00000000ff01000000000000', '=ep'],
  ['all+p cap_chown-p', '00000002feffffff00000000ff01000000000000', '=p cap_chown-p'],
  ['cap_sys_admin+ei', '0100000200000000000020000000000000000000', 'cap_sys_admin=ei'],
];

describe('capsText', () => {
  it.each(CASES)('setcap %s is shown as getcap shows it', (_spec, hex, text) => {
    expect(capsText(Buffer.from(hex, 'hex'))).toBe(text);
  });

  it('shows the root uid of a v3 (namespaced) capability', () => {
    const v3 = Buffer.from('0100000380000000000000000000000000000000e8030000', 'hex');
    expect(decodeCaps(v3)?.rootid).toBe(1000);
    expect(capsText(v3)).toBe('cap_setuid=ep [rootid=1000]');
  });

  it('reads a v1 (32-bit) capability', () => {
    expect(capsText(Buffer.from('010000018000000000000000', 'hex'))).toBe('cap_setuid=ep');
  });

  it('names a capability past the known ones by number, never drops it', () => {
    // permitted bit 50 (upper word bit 18) with the effective bit.
    expect(capsText(Buffer.from('0100000200000000000000000000040000000000', 'hex'))).toBe('cap_50=ep');
  });

  it.each([
    ['too short', '01'],
    ['a revision the kernel does not write', '0100000480000000000000000000000000000000'],
    ['a v2 magic with v3 length', '0100000280000000000000000000000000000000e8030000'],
    ['unknown magic bits', '0100100280000000000000000000000000000000'],
  ])('shows %s as its bytes, never a guess', (_why, hex) => {
    expect(capsText(Buffer.from(hex, 'hex'))).toBe(`invalid capability data 0x${hex}`);
  });

  it('an empty set is "=" (as libcap writes it)', () => {
    expect(capsText(Buffer.from('0000000200000000000000000000000000000000', 'hex'))).toBe('=');
  });
});
