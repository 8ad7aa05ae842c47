/** Raw argv: the bytes of arguments Node decoded lossily, aligned past node's own flags. */
import { describe, expect, it } from 'vitest';
import { pathArg, rawArgs, useRawArgs } from '../../../src/cli/raw-argv.js';
import { resolvePathBytes } from '../../../src/path-key.js';

const cmdline = (...parts: (string | Buffer)[]) =>
  Buffer.concat(parts.flatMap((p) => [typeof p === 'string' ? Buffer.from(p) : p, Buffer.from([0])]));

describe('rawArgs', () => {
  it('replaces only arguments whose bytes are not UTF-8, past node flags in cmdline', () => {
    const ff = Buffer.from([0x62, 0xff]);
    const fe = Buffer.from([0x62, 0xfe]);
    const argv = ['/usr/bin/node', '/x/bin/fim', 'check', 'b\ufffd', 'b\ufffd', 'ok\u00e9'];
    const r = rawArgs(
      argv,
      cmdline('node', '--max-semi-space-size=2', '/x/bin/fim', 'check', ff, fe, 'ok\u00e9'),
    );
    expect(r.argv.slice(0, 3)).toEqual(argv.slice(0, 3));
    expect(r.argv[5]).toBe('ok\u00e9');
    useRawArgs(r);
    expect(pathArg(r.argv[3]!)).toEqual(ff);
    expect(pathArg(r.argv[4]!)).toEqual(fe);
    expect(pathArg('plain')).toEqual(Buffer.from('plain'));
    useRawArgs({ argv: [], bytes: new Map() });
  });

  it('leaves argv alone when cmdline cannot be aligned', () => {
    const argv = ['node', 'fim', 'a', 'b'];
    expect(rawArgs(argv, cmdline('node', 'fim', 'a')).argv).toEqual(argv);
  });
});

describe('resolvePathBytes', () => {
  it('resolves like path.resolve, on bytes', () => {
    const b = (s: string) => Buffer.from(s, 'latin1');
    expect(resolvePathBytes(b('a/./b/../c\xff'), '/srv')).toEqual(b('/srv/a/c\xff'));
    expect(resolvePathBytes(b('//x///y/'), '/')).toEqual(b('/x/y'));
    expect(resolvePathBytes(b('../..'), '/a')).toEqual(b('/'));
    expect(resolvePathBytes(b('a\0b'), '/')).toBeUndefined();
  });
});
