/**
 * Priorities for journald: a `fim check` whose stdout is the journal stream systemd gave it
 * (JOURNAL_STREAM names that stream's device and inode) prefixes each line with `<N>` from the
 * finding's severity, so `journalctl -p err` shows critical and high findings. On a terminal or a
 * pipe that is not the journal, nothing is prefixed. systemd is not PID 1 here, so the test reads the
 * prefixes journald would read.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FIM, Sandbox } from '../helpers/fim.js';

function checkWithStream(sb: Sandbox, stream: 'self' | 'other' | 'none', quiet: boolean): string {
  const env =
    stream === 'self'
      ? 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/1)'
      : stream === 'other'
        ? 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/0)'
        : 'unset JOURNAL_STREAM';
  const args = ['check', ...(quiet ? ['--quiet'] : []), ...sb.configArgs()].map((a) => `'${a}'`).join(' ');
  const r = spawnSync(
    'sh',
    ['-c', `${env}; export JOURNAL_STREAM; exec '${process.execPath}' '${FIM}' ${args} </dev/null`],
    {
      encoding: 'utf8',
    },
  );
  expect(r.status, r.stderr).toBe(4);
  return r.stdout;
}

describe('journald priorities of fim check', () => {
  it('maps critical to crit, high to err, medium to warning, low to notice, the rest to info', async () => {
    await using sb = new Sandbox();
    for (const d of ['keys', 'code', 'conf', 'logs']) sb.write(`${d}/f`, 'v1');
    sb.policy(
      ['critical:keys', 'high:code', 'medium:conf', 'low:logs']
        .map((x) => {
          const [sev, dir] = x.split(':');
          return `  - name: ${dir}\n    severity: ${sev}\n    paths: ["{tree}/${dir}"]\n    check: readonly\n`;
        })
        .join(''),
    );
    expect(sb.fim(['baseline']).code).toBe(0);
    for (const d of ['keys', 'code', 'conf', 'logs']) sb.write(`${d}/f`, 'v2');
    for (const quiet of [false, true]) {
      const out = checkWithStream(sb, 'self', quiet);
      const lines = out.trimEnd().split('\n');
      for (const l of lines) expect(l).toMatch(/^<[0-7]>/);
      const priorityOf = (text: string) => lines.find((l) => l.includes(text))?.slice(1, 2);
      expect(priorityOf(sb.path('keys/f'))).toBe('2');
      expect(priorityOf(sb.path('code/f'))).toBe('3');
      expect(priorityOf(sb.path('conf/f'))).toBe('4');
      expect(priorityOf(sb.path('logs/f'))).toBe('5');
      expect(priorityOf('summary:')).toBe('6');
      // Each change line of a finding carries the finding's priority too.
      expect(lines.filter((l) => l.startsWith('<2>') && l.includes('content')).length).toBe(1);
    }
  });

  it('prefixes nothing when stdout is not the journal stream', async () => {
    await using sb = new Sandbox();
    sb.write('keys/f', 'v1');
    sb.policy('  - name: keys\n    severity: critical\n    paths: ["{tree}/keys"]\n    check: readonly\n');
    expect(sb.fim(['baseline']).code).toBe(0);
    sb.write('keys/f', 'v2');
    for (const stream of ['other', 'none'] as const) {
      const out = checkWithStream(sb, stream, false);
      expect(out).toContain('CRITICAL');
      expect(out).not.toMatch(/^<\d>/m);
    }
  });
});
