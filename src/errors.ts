/**
 * Typed errors. Library code throws these and never prints or exits; the CLI maps them to an exit
 * status in exactly one place (src/cli/main.ts). Each message names the place and, where possible,
 * the fix, so that a person at 3 a.m. can act on it without reading the source.
 */

/**
 * Exit statuses. 0–15 are the findings bitmask of `fim check` (AIDE and Tripwire use the same
 * idea); 16 and above mean the run stopped, one code per cause.
 */
export const ExitCode = {
  ok: 0,
  added: 1,
  removed: 2,
  changed: 4,
  scanErrors: 8,
  usage: 16,
  noBaseline: 17,
  baselineIntegrity: 18,
  storage: 19,
  key: 20,
  internal: 21,
  /** `fim verify-log`: something did not verify (forgery, gap, replay, silence, swapped root). */
  verifyProblems: 1,
  /** `fim fleet status`: some host needs attention (silent, frozen, stopped, drifted, findings, problems). */
  attention: 1,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class FimError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad command line, bad configuration or bad policy: the operator must fix an input. */
export class UsageError extends FimError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.usage, options);
  }
}

/** How many problems a PolicyError's message lists; the rest are counted. */
const PROBLEMS_SHOWN = 100;

/** A policy or configuration file that does not validate; the message starts with file:line:col. */
export class PolicyError extends FimError {
  /** How many problems the message lists; the rest are counted (a policy can hold 100,000 mistakes). */
  static readonly SHOWN = PROBLEMS_SHOWN;
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    // Not PolicyError.SHOWN: a class that names itself inside its body is bundled as
    // `class _PolicyError`, and its errors would be named so (test/unit/bundle.test.ts).
    const shown = problems.slice(0, PROBLEMS_SHOWN);
    const more = problems.length - shown.length;
    super(
      more > 0
        ? `${shown.join('\n')}\n... and ${more} more problem${more === 1 ? '' : 's'}`
        : shown.join('\n'),
      ExitCode.usage,
    );
    this.problems = problems;
  }
}

export class NoBaselineError extends FimError {
  constructor(db: string) {
    super(`no baseline in ${db}: run "fim baseline" first`, ExitCode.noBaseline);
  }
}

/** The stored baseline does not match its root or signature: it must not be trusted, even in part. */
export class BaselineIntegrityError extends FimError {
  constructor(message: string) {
    super(message, ExitCode.baselineIntegrity);
  }
}

/** The database or the file system failed us (corrupt file, locked, disk full, future schema). */
export class StorageError extends FimError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.storage, options);
  }
}

/**
 * A stored row whose column holds what no fim row can (text where an integer belongs, a hash of the
 * wrong length): the file was edited or is corrupt. Read while verifying a baseline, it makes the
 * baseline fail its integrity check; elsewhere it is a storage failure.
 */
export class CorruptRowError extends StorageError {
  readonly table: string;
  readonly column: string;
  constructor(message: string, table: string, column: string) {
    super(message);
    this.table = table;
    this.column = column;
  }
}

/** Keys missing, unreadable, too permissive or failing their certificate. */
export class KeyError extends FimError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.key, options);
  }
}

/** errno code of a Node system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * A system error as `CODE (description)`, without the path Node quotes in its message: that path
 * is raw bytes (an intruder's `\e[31m` name, or `/proc/self/fd/N/...`), and the caller names the
 * entry itself, in display form.
 */
export function systemErrorText(err: unknown): string {
  const code = errnoCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === undefined) return message.split(/[\r\n]/)[0] ?? '';
  const m = /^[A-Z0-9_]+: ([^,]*)/.exec(message);
  return m?.[1] ? `${code} (${m[1]})` : code;
}
