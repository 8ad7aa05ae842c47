/**
 * Errors across the scan worker's message port. Structured clone keeps an Error's message but not
 * its class: a PolicyError or StorageError thrown in the worker would arrive as a plain Error, and
 * the daemon would treat it as an internal fault instead of its own exit code. So the worker sends
 * the error as data (`encodeError`) and the main thread rebuilds it (`decodeError`) as the same
 * class from src/errors.ts, with its exit code, message, own fields (`problems`), stack and cause.
 *
 * What it must not do: invent classes (a name src/errors.ts does not export as a FimError becomes
 * a plain Error of that name), or throw while encoding: an error must always make it back.
 */
import * as errors from './errors.js';
import { FimError } from './errors.js';

/** An error as plain, cloneable data. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** Set for a FimError (and its subclasses). */
  exitCode?: number;
  /** Other own fields that survive structured clone: PolicyError's `problems`, a system error's `code`. */
  props?: Record<string, unknown>;
  cause?: { error: WireError } | { value: unknown };
}

/** Causes nest (a StorageError around a SqliteError ...); deeper ones are cut. */
const MAX_DEPTH = 4;
const OWN = new Set(['name', 'message', 'stack', 'exitCode', 'cause']);

function cloneable(v: unknown): boolean {
  try {
    structuredClone(v);
    return true;
  } catch {
    return false;
  }
}

export function encodeError(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const w: WireError = { name: err.name, message: err.message };
  if (err.stack !== undefined) w.stack = err.stack;
  if (err instanceof FimError) w.exitCode = err.exitCode;
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) if (!OWN.has(k) && cloneable(v)) props[k] = v;
  if (Object.keys(props).length) w.props = props;
  if (err.cause !== undefined && depth < MAX_DEPTH) {
    w.cause =
      err.cause instanceof Error
        ? { error: encodeError(err.cause, depth + 1) }
        : { value: cloneable(err.cause) ? err.cause : String(err.cause) };
  }
  return w;
}

type ErrorClass = new (...args: never[]) => Error;

/** The FimError class of that name in src/errors.ts, if there is one. */
function fimClass(name: string): ErrorClass | undefined {
  const c: unknown = (errors as Record<string, unknown>)[name];
  return typeof c === 'function' && (c === FimError || c.prototype instanceof FimError)
    ? (c as ErrorClass)
    : undefined;
}

/** A built-in error class of that name (TypeError, RangeError, ...), if there is one. */
function builtinClass(name: string): ErrorClass | undefined {
  const c: unknown = (globalThis as Record<string, unknown>)[name];
  return typeof c === 'function' && (c === Error || c.prototype instanceof Error)
    ? (c as ErrorClass)
    : undefined;
}

export function decodeError(w: WireError): Error {
  const cause =
    w.cause === undefined ? undefined : 'error' in w.cause ? decodeError(w.cause.error) : w.cause.value;
  const opts = cause === undefined ? undefined : { cause };
  const fim = w.exitCode !== undefined ? fimClass(w.name) : undefined;
  let e: Error;
  if (fim) {
    // FimError's constructor with the subclass as new.target: the subclass's prototype and name,
    // this message and exit code (subclass constructors build their own messages; bypass them).
    e = Reflect.construct(FimError, [w.message, w.exitCode, opts], fim) as Error;
  } else if (w.exitCode !== undefined) {
    e = new FimError(w.message, w.exitCode, opts);
    e.name = w.name;
  } else {
    e = Reflect.construct(builtinClass(w.name) ?? Error, [w.message, opts]) as Error;
    if (e.name !== w.name) e.name = w.name;
  }
  if (w.props) Object.assign(e, w.props);
  if (w.stack !== undefined) e.stack = w.stack;
  return e;
}
