/** The test helpers themselves: a wait that can fail, and a sandbox that is gone after its block. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, Sandbox } from '../../helpers/fim.js';
import { waitFor } from '../../helpers/wait.js';
import { failOnWarnings } from '../../setup/warnings.js';

describe('waitFor', () => {
  it('resolves with the first real value of the probe', async () => {
    let n = 0;
    await expect(
      waitFor(() => (++n >= 3 ? n : undefined), { what: 'three polls', intervalMs: 1 }),
    ).resolves.toBe(3);
  });

  it('fails at its deadline, naming what never happened', async () => {
    await expect(waitFor(() => false, { what: 'a thing', timeoutMs: 50, intervalMs: 5 })).rejects.toThrow(
      'timed out after 50 ms waiting for a thing',
    );
  });
});

describe('Sandbox', () => {
  it('is removed when an `await using` block ends, even by an exception', async () => {
    let dir = '';
    await expect(
      (async () => {
        await using sb = new Sandbox();
        dir = sb.dir;
        sb.write('a', 'x');
        throw new Error('test body failed');
      })(),
    ).rejects.toThrow('test body failed');
    expect(dir).not.toBe('');
    expect(existsSync(dir)).toBe(false);
  });
});

describe('process warnings', () => {
  it('fail the test during which they were emitted', async () => {
    process.emitWarning('a leak, say', 'MaxListenersExceededWarning');
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    expect(() => failOnWarnings()).toThrow('MaxListenersExceededWarning: a leak, say');
    expect(() => failOnWarnings()).not.toThrow(); // reported once
  });

  it('are checked for every test file', () => {
    expect(readFileSync(join(ROOT, 'vitest.config.ts'), 'utf8')).toContain(
      "setupFiles: ['test/setup/warnings.ts']",
    );
  });
});
