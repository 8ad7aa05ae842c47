/**
 * Hostile policy and configuration files: a FIFO, a device, a huge file, bytes that are not UTF-8,
 * and a policy with 140,000 rules or problems. Each is a clear, positioned error in bounded time
 * and memory; none hangs, crashes or silently names another path.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config.js';
import { PolicyError, UsageError } from '../../../src/errors.js';
import { loadPolicies } from '../../../src/policy/policy.js';
import { decodeStrict, MAX_TEXT_BYTES, readTextFile } from '../../../src/policy/text-file.js';

const dir = mkdtempSync(join(tmpdir(), 'fim-textfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(files: string[]): string[] {
  try {
    loadPolicies(files);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return [...(err as PolicyError).problems];
  }
  throw new Error('accepted');
}

describe('readTextFile', () => {
  it('refuses a FIFO without waiting for a writer, and a device without reading it', () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    const start = Date.now();
    expect(readTextFile(fifo)).toEqual({ ok: false, problem: expect.stringContaining('not a regular file') });
    expect(readTextFile('/dev/zero')).toEqual({
      ok: false,
      problem: expect.stringContaining('not a regular file'),
    });
    expect(Date.now() - start).toBeLessThan(2000);
    expect(problemsOf([fifo])[0]).toMatch(/fifo\.yaml: policy not a regular file/);
    expect(() => resolveConfig({ config: '/dev/zero' })).toThrow(UsageError);
    expect(() => resolveConfig({ config: fifo })).toThrow(/configuration .*fifo\.yaml: not a regular file/);
  });

  it('refuses a file over the limit', () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, Buffer.alloc(MAX_TEXT_BYTES + 1, 0x20));
    expect(readTextFile(big)).toEqual({ ok: false, problem: expect.stringContaining('too large') });
  });

  it('names the line and column of the first byte that is not UTF-8, in a policy and a configuration', () => {
    const p = join(dir, 'latin1.yaml');
    writeFileSync(
      p,
      Buffer.concat([
        Buffer.from('version: 1\nrules:\n  - name: x\n    paths: ["/srv/'),
        Buffer.from([0xff]),
        Buffer.from('.py"]\n    check: readonly\n'),
      ]),
    );
    expect(problemsOf([p])).toEqual([
      `${p}:4:19: byte \\xff is not valid UTF-8 (policies and the configuration are UTF-8 text)`,
    ]);
    const c = join(dir, 'fim.yaml');
    writeFileSync(c, Buffer.from([0x68, 0x6f, 0x73, 0x74, 0x3a, 0x20, 0xc3, 0x28, 0x0a]));
    expect(() => resolveConfig({ config: c })).toThrow(`${c}:1:7: byte \\xc3 is not valid UTF-8`);
  });

  it('decodes valid UTF-8 exactly and refuses invalid bytes, over any byte string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b = Buffer.from(bytes);
        const valid = Buffer.from(b.toString('utf8'), 'utf8').equals(b);
        const r = decodeStrict(b);
        expect(r.ok).toBe(valid);
        if (r.ok) expect(Buffer.from(r.text, 'utf8').equals(b)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('huge policies', () => {
  it('140,000 problems: an error that lists the first 100 and counts the rest, no stack overflow', () => {
    const p = join(dir, 'many-bad.yaml');
    // Two problems a rule (a relative path, an unknown preset): 140,000 problems within 4 MiB.
    const rules = Array.from({ length: 70_000 }, (_, i) => `- {name: r${i}, paths: [p], check: q}`);
    writeFileSync(p, `version: 1\nrules:\n${rules.join('\n')}\n`);
    let err: unknown;
    try {
      loadPolicies([p]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    const e = err as PolicyError;
    expect(e.problems).toHaveLength(140_000);
    const lines = e.message.split('\n');
    expect(lines).toHaveLength(PolicyError.SHOWN + 1);
    expect(lines.at(-1)).toBe(`... and ${140_000 - PolicyError.SHOWN} more problems`);
  }, 60_000);

  it('80,000 good rules load', () => {
    const p = join(dir, 'many-good.yaml');
    const rules = Array.from(
      { length: 80_000 },
      (_, i) => `- {name: r${i}, paths: [/p${i}], check: readonly}`,
    );
    writeFileSync(p, `version: 1\nrules:\n${rules.join('\n')}\n`);
    expect(loadPolicies([p]).rules).toHaveLength(80_000);
  }, 60_000);
});
