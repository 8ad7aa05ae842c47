/**
 * The log rotation hook of docs/operations.md, run by a real `logrotate`: a `growing` log is
 * rotated (new inode, empty), the hook checks just that log and accepts its finding, and the next
 * full check is clean. Without the check in the hook, `fim accept` has no finding to take and the
 * rotation fails.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIM, Sandbox } from '../helpers/fim.js';

function logrotateBin(): string | undefined {
  for (const p of ['/usr/sbin/logrotate', '/sbin/logrotate'])
    if (spawnSync(p, ['--version']).status === 0) return p;
  if (process.env['CI'])
    throw new Error('logrotate not found: CI must install it (apt-get install logrotate)');
  process.stderr.write('\n*** SKIPPING the logrotate test: logrotate is not installed ***\n\n');
  return undefined;
}

const LOGROTATE = logrotateBin();

describe('fim accept from logrotate', () => {
  it.runIf(LOGROTATE !== undefined)(
    'a rotated growing log is accepted by the hook; the next check is clean',
    async () => {
      await using sb = new Sandbox('fim-logrotate-');
      const log = sb.write('logs/worker.log', 'line 1\nline 2\n');
      sb.policy(
        '  - name: logs\n    severity: low\n    paths: ["{tree}/logs"]\n    exclude: ["{tree}/logs/*.1"]\n    check: growing\n',
      );
      expect(sb.fim(['baseline']).code).toBe(0);
      const [, config] = sb.configArgs();
      const fim = `'${process.execPath}' '${FIM}'`;
      const conf = join(sb.dir, 'logrotate.conf');
      writeFileSync(
        conf,
        `${log} {\n    rotate 1\n    create 0640 root root\n    postrotate\n        ${fim} check --quiet --config '${config}' '${log}' >/dev/null\n        ${fim} accept --quiet --config '${config}' '${log}'\n    endscript\n}\n`,
      );
      const r = spawnSync(LOGROTATE!, ['-f', '-s', join(sb.dir, 'logrotate.state'), conf], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const after = sb.check();
      expect(after.report.findings).toEqual([]);
      expect(after.code).toBe(0);
      // The log grows again: still no finding; an edit of its new old part would be one.
      writeFileSync(log, 'after rotation\n', { flag: 'a' });
      expect(sb.check().code).toBe(0);
    },
  );
});
