/**
 * pipe(2) through libc (src/sys/libc.ts `pipe`), for the row reader's pipe: bytes written to one
 * end come out of the other, neither end leaks into a child process (O_CLOEXEC), and the pipe
 * holds what was asked for.
 */
import { closeSync, readFileSync, readSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pipe } from '../../../src/sys/libc.js';

const O_CLOEXEC = 0o2000000;
const flagsOf = (fd: number) =>
  Number.parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? 'x', 8);

describe('pipe', () => {
  it('carries bytes from its write end to its read end, both ends close-on-exec', () => {
    const p = pipe();
    if (!p) throw new Error('libc cannot be used');
    try {
      expect(flagsOf(p.read) & O_CLOEXEC).toBe(O_CLOEXEC);
      expect(flagsOf(p.write) & O_CLOEXEC).toBe(O_CLOEXEC);
      writeSync(p.write, Buffer.from('frame'));
      const b = Buffer.alloc(5);
      expect(readSync(p.read, b, 0, 5, null)).toBe(5);
      expect(b.toString()).toBe('frame');
    } finally {
      closeSync(p.read);
      closeSync(p.write);
    }
  });

  it('holds 1 MiB when asked (the kernel default is 64 KiB): a write of that much does not block', () => {
    const p = pipe(1 << 20);
    if (!p) throw new Error('libc cannot be used');
    try {
      // A blocking write larger than the pipe would hang here; 1 MiB in one write returns.
      expect(writeSync(p.write, Buffer.alloc(1 << 20, 7))).toBe(1 << 20);
    } finally {
      closeSync(p.read);
      closeSync(p.write);
    }
  });
});
