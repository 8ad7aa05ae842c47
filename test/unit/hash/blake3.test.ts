/**
 * The BLAKE3 binding: the right digests, and on glibc x64 Linux (this machine, CI's) loaded without
 * the package loader's `process.report.getReport()`, which cost about 5 ms of every start.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Blake3 } from '../../../src/hash/blake3.js';
import { ROOT } from '../../helpers/fim.js';

describe('the BLAKE3 binding', () => {
  it('gives the reference digests (the BLAKE3 test vectors of the empty input and of "abc")', () => {
    expect(new Blake3().digest().toString('hex')).toBe(
      'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262',
    );
    const h = new Blake3().update(Buffer.from('abc'));
    expect(h.digestHex()).toBe('6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
    expect(h.reset().digestHex()).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  });

  it.runIf(process.platform === 'linux' && process.arch === 'x64')(
    'loads on glibc x64 Linux without asking process.report for the libc',
    () => {
      const module = pathToFileURL(join(ROOT, 'dist/hash/blake3.js')).href;
      const script = `
        let reports = 0;
        const real = process.report.getReport.bind(process.report);
        process.report.getReport = (...a) => { reports++; return real(...a); };
        const { Blake3 } = await import(${JSON.stringify(module)});
        console.log(JSON.stringify({ reports, abc: new Blake3().update('abc').digestHex() }));
      `;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({
        reports: 0,
        abc: '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85',
      });
    },
  );
});
