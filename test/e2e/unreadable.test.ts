/**
 * Unreadable files and directories, for real: root reads everything, so these runs drop to the
 * `nobody` user. An unreadable entry is an error with its errno (exit bit 8), never a crash, and an
 * unlistable directory never turns its entries into "removed" findings.
 */
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type CheckJson, Sandbox } from '../helpers/fim.js';

const NOBODY = 65534;
let sb: Sandbox;

beforeEach(() => {
  sb = new Sandbox();
  chmodSync(sb.dir, 0o755);
  sb.write('data/open.txt', 'open');
  sb.write('data/secret.txt', 'secret');
  mkdirSync(sb.path('data/private'));
  sb.write('data/private/inner.txt', 'inner');
  sb.policy('  - name: data\n    paths: ["{tree}/data"]\n    check: readonly\n');
  chownSync(sb.dir, NOBODY, NOBODY);
  for (const p of [
    '',
    'data',
    'data/open.txt',
    'data/secret.txt',
    'data/private',
    'data/private/inner.txt',
  ]) {
    chownSync(sb.path(p), NOBODY, NOBODY);
  }
});

afterEach(() => sb.cleanup());

const asNobody = { uid: NOBODY, gid: NOBODY };

it('unreadable file and directory: errors with EACCES, exit bit 8, no false removals', () => {
  const b = sb.fim(['baseline'], asNobody);
  expect(b.code, b.stderr).toBe(0);
  chmodSync(sb.path('data/secret.txt'), 0o000);
  chmodSync(sb.path('data/private'), 0o000);
  const r = sb.fim(['check', '--json'], asNobody);
  const report = JSON.parse(r.stdout) as CheckJson;
  expect(r.code & 8).toBe(8);
  const codes = Object.fromEntries(report.errors.map((e) => [e.path, e.code]));
  expect(codes[sb.path('data/secret.txt')]).toBe('EACCES');
  expect(codes[sb.path('data/private')]).toBe('EACCES');
  // inner.txt is unknown, not removed
  expect(report.findings.filter((f) => f.kind === 'removed')).toEqual([]);
  // the mode changes are still seen through lstat
  const modes = report.findings
    .filter((f) => f.changes?.some((c) => c.attribute === 'mode'))
    .map((f) => f.path);
  expect(modes.sort()).toEqual([sb.path('data/private'), sb.path('data/secret.txt')]);
});

it('a file unreadable at baseline time is an error there too, and the baseline is still made', () => {
  chmodSync(sb.path('data/secret.txt'), 0o000);
  const b = sb.fim(['baseline', '--json'], asNobody);
  expect(b.code).toBe(8);
  const out = JSON.parse(b.stdout) as { errors: { path: string; code: string }[]; baseline: { id: number } };
  expect(out.errors).toEqual([expect.objectContaining({ path: sb.path('data/secret.txt'), code: 'EACCES' })]);
  expect(out.baseline.id).toBe(1);
});

it('an unreadable file with control bytes in its name: no raw byte reaches stderr or the reports', () => {
  const hostile = 'e\x1b[31mX\x07\u202e.py';
  const p = sb.write(`data/${hostile}`, 'x');
  chownSync(p, NOBODY, NOBODY);
  chmodSync(p, 0o000);
  const raw = /[\x00-\x08\x0b-\x1f\x7f]|\u202e/;
  const b = sb.fim(['baseline'], asNobody);
  expect(b.code).toBe(8);
  expect(b.stderr).toContain('cannot open: EACCES (permission denied)');
  expect(b.stderr).toContain('e\\x1b[31mX\\x07\\xe2\\x80\\xae.py');
  expect(b.stderr).not.toMatch(raw);
  const text = sb.fim(['check'], asNobody);
  expect(text.code & 8).toBe(8);
  expect(text.stdout + text.stderr).not.toMatch(raw);
  const json = sb.fim(['check', '--json'], asNobody);
  const report = JSON.parse(json.stdout) as CheckJson;
  const e = report.errors.find((x) => x.path.endsWith('.py'));
  expect(e?.message).toBe('cannot open: EACCES (permission denied)');
  expect(JSON.stringify(report)).not.toMatch(/\\u001b|\\u0007|\u202e/);
  // The note for a rule path that does not exist is in display form too.
  sb.policy(`  - name: data\n    paths: ["{tree}/data", "{tree}/no\\u001bpe"]\n    check: readonly\n`);
  const note = sb.fim(['check', '--json'], asNobody);
  const notes = (JSON.parse(note.stdout) as CheckJson).notes.join('\n');
  expect(notes).toContain('no\\x1bpe');
  expect(notes).not.toMatch(raw);
});
