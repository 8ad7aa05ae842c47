/**
 * Path arguments that are not UTF-8: `fim check`, `fim accept` and `fim policy explain` take the
 * bytes that were typed (from /proc/self/cmdline), not Node's lossy decoding, so `b\xff` and
 * `b\xfe` stay two different files. The shell's printf makes the bytes: spawn() cannot pass them.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CheckJson, FIM, Sandbox } from '../helpers/fim.js';

function fimSh(sb: Sandbox, script: string): { code: number; stdout: string; stderr: string } {
  const [flag, config] = sb.configArgs();
  const r = spawnSync(
    'sh',
    ['-c', `f() { '${process.execPath}' '${FIM}' "$@" ${flag} '${config}'; }; cd '${sb.tree}'; ${script}`],
    {
      encoding: 'utf8',
    },
  );
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('path arguments that are not UTF-8', () => {
  it('check, accept and explain take the exact bytes', async () => {
    await using sb = new Sandbox('fim-rawargs-');
    const app = join(sb.tree, 'app');
    sb.write('app/keep', 'k');
    const ff = Buffer.concat([Buffer.from(`${app}/b`), Buffer.from([0xff])]);
    const fe = Buffer.concat([Buffer.from(`${app}/b`), Buffer.from([0xfe])]);
    writeFileSync(ff, 'one');
    writeFileSync(fe, 'two');
    sb.policy(
      '  - name: app\n    severity: high\n    paths: ["{tree}/app"]\n    check: readonly -mtime -ctime\n',
    );
    expect(sb.fim(['baseline']).code).toBe(0);
    writeFileSync(ff, 'ONE');
    writeFileSync(fe, 'TWO');
    // A scoped check of b\xff alone (relative to the working directory): that file, not b\xfe.
    const c = fimSh(sb, `f check --json "$(printf 'app/b\\377')"`);
    expect(c.code, c.stderr).toBe(4);
    const report = JSON.parse(c.stdout) as CheckJson;
    expect(report.summary.scanned).toBe(1);
    expect(report.findings.map((f) => Buffer.from(f.path_b64, 'base64'))).toEqual([ff]);
    // Accept just that one, by its bytes; b\xfe is still reported.
    const a = fimSh(sb, `f accept "$(printf '${app}/b\\377')"`);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('b\\xff');
    const after = sb.check();
    expect(after.report.findings.map((f) => Buffer.from(f.path_b64, 'base64'))).toEqual([fe]);
    const e = fimSh(sb, `f policy explain "$(printf '${app}/b\\376')"`);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toContain(`${app}/b\\xfe: rule "app"`);
  });

  it('an option value that is not UTF-8 is a clear usage error', async () => {
    await using sb = new Sandbox('fim-rawargs-');
    const r = spawnSync(
      'sh',
      ['-c', `'${process.execPath}' '${FIM}' check --db "$(printf '/tmp/x\\377.db')"`],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(16);
    expect(r.stderr).toContain('--db: the file name is not valid UTF-8');
    void sb;
  });
});
