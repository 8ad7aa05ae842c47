/**
 * The journal's record blob (src/store/record-blob.ts): what `accept` reads back is the record that
 * was journaled, and a blob that is not one is refused rather than read as NaN and empty buffers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../../src/errors.js';
import { decodeRecord, encodeRecord } from '../../../src/store/record-blob.js';
import { record, recordArb } from './fixture.js';

const at = { file: '/var/lib/fim/fim.db', table: 'finding' };

function decodeError(blob: Buffer): string {
  let thrown: unknown;
  try {
    decodeRecord(blob, at, 7n);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(StorageError);
  return (thrown as Error).message;
}

function edited(field: string, value: unknown): Buffer {
  const o = JSON.parse(encodeRecord(record('/srv/app/x.py')).toString()) as Record<string, unknown>;
  o[field] = value;
  return Buffer.from(JSON.stringify(o));
}

describe('journal record blob', () => {
  it('round-trips any record', () => {
    fc.assert(
      fc.property(recordArb, (r) => {
        expect(decodeRecord(encodeRecord(r))).toEqual(r);
      }),
    );
  });

  it('refuses a blob that is not JSON, naming table, column and row', () => {
    const msg = decodeError(Buffer.from('{"p": '));
    expect(msg).toContain('table finding, column record (id 7)');
    expect(msg).toMatch(/restore the database from backup/);
  });

  const bad: [string, unknown][] = [
    ['t', 'door'],
    ['m', 0o10000],
    ['m', '644'],
    ['u', -1],
    ['g', 1.5],
    ['s', '-1'],
    ['s', '12abc'],
    ['mt', 5],
    ['i', null],
    ['n', 2 ** 32],
    ['l', ''],
    ['l', '***'],
    ['c', 'ab'],
    ['c', 'Z'.repeat(64)],
    ['p', 'c3J2'], // "srv": not absolute
  ];
  for (const [field, value] of bad) {
    it(`refuses "${field}": ${JSON.stringify(value)}`, () => {
      const msg = decodeError(edited(field, value));
      expect(msg).toContain(`"${field}"`);
      expect(msg).toContain('column record');
    });
  }

  it('refuses JSON that is not an object', () => {
    expect(decodeError(Buffer.from('[1,2]'))).toContain('column record');
    expect(decodeError(Buffer.from('null'))).toContain('column record');
  });
});
