/** RECORD files: hostile CSV, parsed with quoting, bounded; dist-info names split. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PipIndex, parseRecord, splitDistInfo } from '../../../src/explain/pip.js';
import { Sandbox } from '../../helpers/fim.js';

describe('parseRecord', () => {
  it('reads plain and quoted fields (a comma or a quote in a path)', () => {
    const text = [
      'demo/a.py,sha256=AAAA,3',
      '"demo/with,comma.py",sha256=BBBB,4',
      '"demo/say ""hi"".py",sha256=CCCC,5',
      'demo-1.0.dist-info/RECORD,,',
      '',
    ].join('\r\n');
    expect(parseRecord(text)).toEqual([
      { path: 'demo/a.py', hash: 'sha256=AAAA' },
      { path: 'demo/with,comma.py', hash: 'sha256=BBBB' },
      { path: 'demo/say "hi".py', hash: 'sha256=CCCC' },
      { path: 'demo-1.0.dist-info/RECORD', hash: '' },
    ]);
  });

  it('skips what is not a row: no hash field, a NUL in the path', () => {
    expect(parseRecord('justapath\nbad\0path,sha256=x,1\n')).toEqual([]);
  });
});

describe('splitDistInfo', () => {
  it.each([
    ['requests-2.32.3.dist-info', ['requests', '2.32.3']],
    ['celery-5.4.0rc1.dist-info', ['celery', '5.4.0rc1']],
    ['odd.dist-info', ['odd', null]],
  ])('%s', (info, want) => {
    expect(splitDistInfo(info)).toEqual(want);
  });
});

describe('PipIndex', () => {
  it('finds a venv script through ../../../bin, and ignores a RECORD entry without SHA-256', async () => {
    await using sb = new Sandbox('fim-pip-');
    const venv = sb.path('venv');
    const site = join(venv, 'lib', 'python3.11', 'site-packages');
    mkdirSync(join(site, 'demo-1.0.dist-info'), { recursive: true });
    writeFileSync(join(venv, 'pyvenv.cfg'), 'home = /usr/bin\n');
    const sha = Buffer.alloc(32, 7).toString('base64url');
    writeFileSync(
      join(site, 'demo-1.0.dist-info', 'RECORD'),
      `../../../bin/demo,sha256=${sha},10\ndemo/__pycache__/x.pyc,,\ndemo/bad.py,md5=abc,3\n`,
    );
    const idx = new PipIndex();
    const e = idx.lookup(Buffer.from(join(venv, 'bin', 'demo')));
    expect(e).toMatchObject({ package: 'demo', version: '1.0' });
    expect(e?.sha256.equals(Buffer.alloc(32, 7))).toBe(true);
    expect(idx.lookup(Buffer.from(join(site, 'demo', '__pycache__', 'x.pyc')))).toBeUndefined();
    expect(idx.lookup(Buffer.from(join(site, 'demo', 'bad.py')))).toBeUndefined();
    expect(idx.lookup(Buffer.from('/nowhere/at/all.py'))).toBeUndefined();
  });

  it('refuses a RECORD that is not a regular file (a symlink is not followed) and says so only when it exists', async () => {
    await using sb = new Sandbox('fim-pip-');
    const site = sb.path('site-packages');
    mkdirSync(join(site, 'demo-1.0.dist-info'), { recursive: true });
    mkdirSync(join(site, 'demo-1.0.dist-info', 'RECORD'));
    const idx = new PipIndex();
    expect(idx.lookup(Buffer.from(join(site, 'demo', 'x.py')))).toBeUndefined();
    expect(idx.problems.join('\n')).toMatch(/RECORD: not a regular file/);
  });
});
