/**
 * What the JSON report tells a SIEM and a person beyond the compared values: when the run started
 * and finished, owner and group names beside the numeric ids (from this host's account files), and
 * where a file replaced by a symlink now points, even under a rule that checks the type only.
 */
import { chownSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Sandbox } from '../helpers/fim.js';

/** The first name /etc/passwd (or /etc/group) gives an id, as the report should. */
function nameOf(file: '/etc/passwd' | '/etc/group', id: number): string | undefined {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [name, , n] = line.split(':');
    if (n === String(id)) return name;
  }
  return undefined;
}

describe('check --json: times, names, targets', () => {
  it('carries the run times, owner and group names, and a new symlink target', async () => {
    await using sb = new Sandbox();
    sb.write('app/owned', 'a');
    sb.write('app/new-owner', 'b');
    sb.write('pinned/replaced', 'c');
    sb.policy(
      '  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n  - name: pinned\n    paths: ["{tree}/pinned"]\n    check: existence\n',
    );
    expect(sb.fim(['baseline']).code).toBe(0);
    sb.write('app/added', 'd');
    chownSync(sb.path('app/new-owner'), 1, 1);
    rmSync(sb.path('pinned/replaced'));
    symlinkSync('/etc/shadow', sb.path('pinned/replaced'));
    const before = Date.now();
    const { report } = sb.check();
    const r = report as typeof report & { started: string; finished: string };
    const started = Date.parse(r.started);
    const finished = Date.parse(r.finished);
    expect(r.started).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(started).toBeGreaterThanOrEqual(before - 1);
    expect(finished).toBeGreaterThanOrEqual(started);
    expect(finished).toBeLessThanOrEqual(Date.now() + 1);

    const find = (p: string) => report.findings.find((f) => f.path === sb.path(p));
    const added = find('app/added');
    expect(added?.attributes).toMatchObject({
      uid: 0,
      owner: nameOf('/etc/passwd', 0),
      gid: 0,
      group: nameOf('/etc/group', 0),
    });
    const uid = find('app/new-owner')?.changes?.find((c) => c.attribute === 'uid') as
      | Record<string, unknown>
      | undefined;
    expect(uid).toMatchObject({
      old: 0,
      new: 1,
      old_name: nameOf('/etc/passwd', 0),
      new_name: nameOf('/etc/passwd', 1),
    });
    const type = find('pinned/replaced')?.changes?.find((c) => c.attribute === 'type') as
      | Record<string, unknown>
      | undefined;
    expect(type).toEqual({ attribute: 'type', old: 'file', new: 'symlink', new_target: '/etc/shadow' });

    const text = sb.fim(['check']).stdout;
    expect(text).toContain(`type  file -> symlink -> /etc/shadow`);
    expect(text).toContain(`0 (${nameOf('/etc/passwd', 0)}) -> 1 (${nameOf('/etc/passwd', 1)})`);
  });
});
