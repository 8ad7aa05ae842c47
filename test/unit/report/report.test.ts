/**
 * The reporters, pure: a finding in display form and exact bytes, owner names and a new symlink
 * target beside the compared values, groups by severity, and journald priorities per line.
 */
import { describe, expect, it } from 'vitest';
import {
  type CheckReport,
  checkToJson,
  checkToText,
  findingToJson,
  type IdNames,
  SEVERITY_PRIORITY,
} from '../../../src/report/report.js';
import type { FileRecord, Finding, Severity } from '../../../src/types.js';
import { UNREAD } from '../../helpers/records.js';

const rec = (path: Buffer, over: Partial<FileRecord> = {}): FileRecord => ({
  path,
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 3n,
  mtime: 0n,
  ctime: 0n,
  inode: 1n,
  dev: 1n,
  nlink: 1,
  target: null,
  content: null,
  ...UNREAD,
  ...over,
});

const names: IdNames = {
  user: (uid) => ({ 0: 'root', 1000: 'celery' })[uid],
  group: (gid) => ({ 0: 'root' })[gid],
};

function report(findings: Finding[]): CheckReport {
  return {
    host: 'worker-7',
    startedNs: 1_764_547_200_000_000_001n,
    finishedNs: 1_764_547_201_500_000_000n,
    run: 3,
    baseline: {
      id: 1,
      createdNs: 1_764_547_100_000_000_000n,
      label: 'deploy-1',
      root: Buffer.alloc(32, 0xaa),
    },
    summary: { scanned: 10, added: 1, removed: 0, changed: findings.length - 1, errors: 0 },
    findings: findings.map((f, i) => findingToJson(f, i + 1, names)),
    errors: [],
    notes: [],
    exitCode: 5,
  };
}

const hostile = Buffer.from('/srv/app/e\x1b[31mX\x07\xff.py', 'latin1');
const finding = (
  kind: Finding['kind'],
  path: Buffer,
  severity: Severity,
  over: Partial<Finding> = {},
): Finding => ({
  kind,
  path,
  rule: `r-${severity}`,
  severity,
  changes: [],
  record: rec(path),
  ...over,
});

describe('findingToJson', () => {
  it('gives the display form and the exact bytes of a hostile name', () => {
    const j = findingToJson(finding('added', hostile, 'high'));
    expect(j.path).toBe('/srv/app/e\\x1b[31mX\\x07\\xff.py');
    expect(Buffer.from(j.path_b64, 'base64').equals(hostile)).toBe(true);
  });

  it('puts names beside ids, and the new target beside a type change to a symlink', () => {
    const added = findingToJson(
      finding('added', Buffer.from('/a'), 'low', { record: rec(Buffer.from('/a'), { uid: 1000 }) }),
      1,
      names,
    );
    expect(added.attributes).toMatchObject({ uid: 1000, owner: 'celery', gid: 0, group: 'root' });
    const changed = findingToJson(
      finding('changed', Buffer.from('/b'), 'high', {
        changes: [
          { attribute: 'type', old: 'file', new: 'symlink' },
          { attribute: 'uid', old: 0, new: 4242 },
        ],
        record: rec(Buffer.from('/b'), { type: 'symlink', target: Buffer.from('/etc/\nshadow') }),
      }),
      2,
      names,
    );
    expect(changed.changes).toEqual([
      { attribute: 'type', old: 'file', new: 'symlink', new_target: '/etc/\\nshadow' },
      { attribute: 'uid', old: 0, new: 4242, old_name: 'root' },
    ]);
  });
});

describe('checkToJson and checkToText', () => {
  const r = report([
    finding('changed', Buffer.from('/srv/low'), 'low', {
      changes: [{ attribute: 'mode', old: '0644', new: '0666' }],
    }),
    finding('added', hostile, 'critical'),
  ]);

  it('carries the run times with nanoseconds', () => {
    const j = JSON.parse(checkToJson(r)) as { started: string; finished: string };
    expect(j.started).toBe('2025-12-01T00:00:00.000000001Z');
    expect(j.finished).toBe('2025-12-01T00:00:01.500000000Z');
  });

  it('lists critical before low, one line per path, no raw control byte', () => {
    const text = checkToText(r);
    expect(text.indexOf('CRITICAL')).toBeLessThan(text.indexOf('LOW'));
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(text).toContain('/srv/app/e\\x1b[31mX\\x07\\xff.py');
  });

  it('prefixes each line with its priority for journald, only when asked', () => {
    expect(checkToText(r)).not.toMatch(/^<\d>/m);
    const lines = checkToText(r, { priorities: true }).trimEnd().split('\n');
    for (const l of lines) expect(l).toMatch(/^<[2-6]>/);
    expect(lines.find((l) => l.includes('/srv/app/e'))?.slice(0, 3)).toBe(`<${SEVERITY_PRIORITY.critical}>`);
    expect(lines.find((l) => l.includes('0644 -> 0666'))?.slice(0, 3)).toBe(`<${SEVERITY_PRIORITY.low}>`);
    expect(lines.find((l) => l.includes('summary:'))?.slice(0, 3)).toBe('<6>');
  });
});
