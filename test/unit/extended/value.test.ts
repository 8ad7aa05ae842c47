/** The tagged values: "unsupported", "absent" and "present" never confused. */
import { describe, expect, it } from 'vitest';
import {
  ABSENT,
  isTagged,
  presentValue,
  taggedDisplay,
  taggedEqual,
  taggedValue,
  UNSUPPORTED,
} from '../../../src/extended/value.js';

const p = (s: string) => presentValue(Buffer.from(s));

describe('tagged values', () => {
  it.each([
    [UNSUPPORTED, p('x'), true],
    [p('x'), UNSUPPORTED, true],
    [UNSUPPORTED, ABSENT, true],
    [ABSENT, ABSENT, true],
    [ABSENT, p('x'), false],
    [p('x'), ABSENT, false],
    [p('x'), p('x'), true],
    [p('x'), p('y'), false],
    [p(''), ABSENT, false],
  ] as const)('equal(%s, %s) is %s', (a, b, same) => {
    expect(taggedEqual(a, b)).toBe(same);
  });

  it('shows each state', () => {
    expect(taggedDisplay(UNSUPPORTED, () => 'v')).toBe('unsupported');
    expect(taggedDisplay(ABSENT, () => 'v')).toBe('(none)');
    expect(taggedDisplay(p('ab'), (v) => v.toString())).toBe('ab');
    expect(taggedValue(p('ab'))?.toString()).toBe('ab');
    expect(taggedValue(ABSENT)).toBeUndefined();
  });

  it('recognises only what it makes', () => {
    expect([UNSUPPORTED, ABSENT, p(''), p('x')].every(isTagged)).toBe(true);
    for (const bad of [Buffer.from([3]), Buffer.from([0, 1]), Buffer.from([1, 0]), Buffer.alloc(0)])
      expect(isTagged(bad)).toBe(false);
  });
});
