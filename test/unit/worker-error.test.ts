/**
 * Errors across the scan worker's message port: encoded as data, cloned as postMessage clones
 * them, decoded in the main thread as the same class with the same exit code, message, fields,
 * stack and cause.
 */
import { describe, expect, it } from 'vitest';
import {
  BaselineIntegrityError,
  ExitCode,
  FimError,
  KeyError,
  NoBaselineError,
  PolicyError,
  StorageError,
  UsageError,
} from '../../src/errors.js';
import { decodeError, encodeError } from '../../src/worker-error.js';

/** Through the wire: encode, structured clone (what postMessage does), decode. */
const across = (err: unknown): Error => decodeError(structuredClone(encodeError(err)));

describe('worker errors', () => {
  const sqlite = Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' });
  it.each([
    ['UsageError', new UsageError('bad input', { cause: 'why' }), UsageError, ExitCode.usage],
    [
      'PolicyError',
      new PolicyError(['p.yaml:3:5: unknown key "pahts"', 'p.yaml:9:1: x']),
      PolicyError,
      ExitCode.usage,
    ],
    ['NoBaselineError', new NoBaselineError('/var/lib/fim/fim.db'), NoBaselineError, ExitCode.noBaseline],
    [
      'BaselineIntegrityError',
      new BaselineIntegrityError('root mismatch'),
      BaselineIntegrityError,
      ExitCode.baselineIntegrity,
    ],
    [
      'StorageError',
      new StorageError('cannot open database x', { cause: sqlite }),
      StorageError,
      ExitCode.storage,
    ],
    ['KeyError', new KeyError('key file is readable by others'), KeyError, ExitCode.key],
    ['FimError', new FimError('plain', ExitCode.internal), FimError, ExitCode.internal],
  ])('%s keeps its class, exit code, message and stack', (name, err, cls, code) => {
    const back = across(err);
    expect(back).toBeInstanceOf(cls);
    expect(back).toBeInstanceOf(FimError);
    expect(back.name).toBe(name);
    expect((back as FimError).exitCode).toBe(code);
    expect(back.message).toBe(err.message);
    expect(back.stack).toBe(err.stack);
  });

  it("keeps a PolicyError's problems", () => {
    const back = across(new PolicyError(['a.yaml:1:1: one', 'a.yaml:2:1: two']));
    expect((back as PolicyError).problems).toEqual(['a.yaml:1:1: one', 'a.yaml:2:1: two']);
  });

  it('keeps the cause: an error with its class, message and code, or a plain value', () => {
    const back = across(new StorageError('cannot open', { cause: sqlite }));
    expect(back.cause).toBeInstanceOf(Error);
    expect((back.cause as Error).message).toBe('file is not a database');
    expect((back.cause as { code?: string }).code).toBe('SQLITE_NOTADB');
    const inner = new StorageError('locked', { cause: new TypeError('deep') });
    const nested = across(new KeyError('outer', { cause: inner }));
    expect(nested.cause).toBeInstanceOf(StorageError);
    expect((nested.cause as Error).cause).toBeInstanceOf(TypeError);
    expect(across(new UsageError('x', { cause: { file: 'a', line: 3 } })).cause).toEqual({
      file: 'a',
      line: 3,
    });
  });

  it('a built-in error keeps its class; anything else thrown becomes an Error with its text', () => {
    const t = across(new RangeError('out of range'));
    expect(t).toBeInstanceOf(RangeError);
    expect(t).not.toBeInstanceOf(FimError);
    expect(across('a string').message).toBe('a string');
    const custom = across(Object.assign(new Error('odd'), { name: 'SqliteError' }));
    expect(custom.name).toBe('SqliteError');
    expect(custom).not.toBeInstanceOf(FimError);
  });

  it('never fails to encode: an uncloneable field or cause is dropped or turned into text', () => {
    const err = Object.assign(new UsageError('x', { cause: () => 1 }), { fn: () => 2 });
    const back = across(err);
    expect(back).toBeInstanceOf(UsageError);
    expect(typeof back.cause).toBe('string');
    expect('fn' in back).toBe(false);
  });
});
