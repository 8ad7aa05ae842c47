/** The fleet acknowledgements kept beside verify-log's state: written and read back, hostile rows refused. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { StorageError } from '../../../src/errors.js';
import { VerifyStateFile } from '../../../src/store/verify-state.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fim-vstate-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('fleet acknowledgements in the state file', () => {
  test('are read back as written, and survive the verifier saving its state', () => {
    const file = join(dir, 's.state');
    const s = VerifyStateFile.open(file);
    s.ack(new Map([['w1', { atMs: 1000, problems: { 'bad-signature': 2 }, missing: 3 }]]));
    s.save({ hosts: new Map([['w1', { v: 1 }]]), reported: [] });
    expect(s.acks()).toEqual(new Map([['w1', { atMs: 1000, problems: { 'bad-signature': 2 }, missing: 3 }]]));
    s.close();
  });

  test.each([
    ['not JSON', 'nope'],
    ['a list', '[1]'],
    ['a negative count', '{"replay":-1}'],
    ['a count that is not a number', '{"replay":"many"}'],
    [
      'too many kinds',
      JSON.stringify(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 1]))),
    ],
  ])('a row holding %s is refused', (_what, problems) => {
    const file = join(dir, 's.state');
    VerifyStateFile.open(file).close();
    const db = new Database(file);
    db.prepare('INSERT INTO fleet_ack (host, at_ms, problems, missing) VALUES (?, ?, ?, ?)').run(
      'w1',
      1,
      problems,
      0,
    );
    db.close();
    const s = VerifyStateFile.open(file);
    try {
      expect(() => s.acks()).toThrow(StorageError);
      expect(() => s.acks()).toThrow(/fleet_ack row is not what fim fleet ack writes/);
    } finally {
      s.close();
    }
  });
});
