/**
 * Exclude globs over absolute paths, matched against raw path bytes. A pattern is UTF-8 text; the
 * path is bytes that need not be UTF-8, so both are compared as latin1 strings (one char per byte,
 * lossless). `**` matches anything including `/`; `*` anything but `/`; `?` one character but `/`;
 * `[...]` a byte class. A trailing `/**` also matches the directory itself, so an excluded
 * directory is neither recorded nor descended into.
 *
 * Matching takes time linear in the path whatever the pattern: file names are the intruder's, and a
 * backtracking matcher over a pattern with several `*` or `**` can be made to run for hours on one
 * crafted name. A pattern with at most one unbounded wildcard is a regular expression (it cannot
 * backtrack more than linearly); any other runs on a small NFA simulation, one pass over the path
 * with the set of pattern positions still alive. Runs of `**` collapse into one.
 */

/** What a compiled glob offers: `test` of a path's latin1 string, as RegExp.test does. */
export interface Glob {
  test(path: string): boolean;
  readonly pattern: string;
}

/** Longest pattern accepted (in bytes): a policy mistake beyond that, not a pattern. */
export const MAX_GLOB_BYTES = 4096;

type Token =
  | { t: 'lit'; c: number }
  | { t: 'one' }
  | { t: 'class'; set: Uint8Array; negate: boolean }
  | { t: 'star' }
  | { t: 'any' }
  | { t: 'dirs' }
  | { t: 'tail' };

const SLASH = 0x2f;

/**
 * One UTF-8 sequence or, where the bytes are not one, one byte; never `/`. A lead byte matches
 * alone only when no continuation byte follows, so a character is never split in two.
 */
const ONE_CHAR =
  '(?:[\\x00-\\x2e\\x30-\\x7f]|[\\xc2-\\xdf][\\x80-\\xbf]|[\\xe0-\\xef][\\x80-\\xbf]{2}|[\\xf0-\\xf4][\\x80-\\xbf]{3}|[\\xc0-\\xff](?![\\x80-\\xbf])|[\\x80-\\xbf])';

const isCont = (c: number) => c >= 0x80 && c <= 0xbf;

/** How many bytes `?` takes at `i` (the ONE_CHAR alternatives in order), or 0 where it cannot match. */
function oneLength(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (Number.isNaN(c) || c === SLASH) return 0;
  if (c < 0x80) return 1;
  const need = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
  if (need > 0) {
    let k = 1;
    while (k <= need && isCont(s.charCodeAt(i + k))) k++;
    if (k > need) return need + 1;
  }
  if (c >= 0xc0) return isCont(s.charCodeAt(i + 1)) ? 0 : 1;
  return isCont(c) ? 1 : 0;
}

function parseClass(body: string): Uint8Array {
  const set = new Uint8Array(256);
  for (let i = 0; i < body.length; i++) {
    const a = body.charCodeAt(i);
    if (body[i + 1] === '-' && i + 2 < body.length) {
      const b = body.charCodeAt(i + 2);
      if (b < a) throw new SyntaxError(`invalid range ${body[i]}-${body[i + 2]}`);
      for (let c = a; c <= b; c++) set[c] = 1;
      i += 2;
    } else set[a] = 1;
  }
  return set;
}

function tokenize(p: string): Token[] {
  const out: Token[] = [];
  const push = (tok: Token) => {
    const last = out[out.length - 1];
    // Runs of wildcards collapse: "**/**/" is "**/", "*" or "**/" beside "**" is "**".
    if (last && (tok.t === 'dirs' || tok.t === 'any') && (last.t === 'dirs' || last.t === 'any')) {
      if (tok.t === 'any') out[out.length - 1] = tok;
      return;
    }
    if (last?.t === 'any' && (tok.t === 'star' || tok.t === 'dirs')) return;
    if (last?.t === 'star' && tok.t === 'star') return;
    out.push(tok);
  };
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        if (p[i - 1] === '/' && i + 2 === p.length && out[out.length - 1]?.t === 'lit') {
          out.pop(); // the "/" before a trailing "**" belongs to it
          out.push({ t: 'tail' });
          i++;
          continue;
        }
        if (p[i + 2] === '/') {
          push({ t: 'dirs' });
          i += 2;
          continue;
        }
        push({ t: 'any' });
        i++;
      } else push({ t: 'star' });
    } else if (c === '?') out.push({ t: 'one' });
    else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end === -1) {
        out.push({ t: 'lit', c: 0x5b });
        continue;
      }
      let body = p.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      out.push({ t: 'class', set: parseClass(body), negate });
      i = end;
    } else out.push({ t: 'lit', c: c.charCodeAt(0) });
  }
  return out;
}

/** The same tokens as a regular expression (for patterns that cannot backtrack badly). */
function toRegExp(tokens: readonly Token[]): RegExp {
  let re = '';
  for (const k of tokens) {
    if (k.t === 'lit') re += `\\x${k.c.toString(16).padStart(2, '0')}`;
    else if (k.t === 'one') re += ONE_CHAR;
    else if (k.t === 'star') re += '[^/]*';
    else if (k.t === 'any') re += '.*';
    else if (k.t === 'dirs') re += '(?:.*/)?';
    else if (k.t === 'tail') re += '(?:/.*)?';
    else {
      let cls = '';
      for (let c = 0; c < 256; c++)
        if (k.set[c] && c !== SLASH) cls += `\\x${c.toString(16).padStart(2, '0')}`;
      re += k.negate ? `[^/${cls}]` : cls ? `[${cls}]` : '(?!)';
    }
  }
  return new RegExp(`^${re}$`, 's');
}

/**
 * One pass over the path with the set of live pattern positions (Thompson's construction). `dirs`
 * and `tail` each have an inner state (index + tokens.length) for "inside the wildcard".
 */
function nfaMatcher(tokens: readonly Token[]): (s: string) => boolean {
  const m = tokens.length;
  const inner = (k: number) => m + 1 + k;
  const size = 2 * m + 1;
  // Live states at position i, i+1, ..., i+4 (`?` may take up to four bytes); made once, reused
  // (matching is synchronous), so testing a path allocates nothing.
  const ring = [0, 1, 2, 3, 4].map(() => new Uint8Array(size));
  return (s) => {
    const n = s.length;
    for (const r of ring) r.fill(0);
    const close = (set: Uint8Array) => {
      // Epsilon moves go forward only, so one left-to-right sweep closes the set.
      for (let k = 0; k < m; k++) {
        const t = tokens[k]!.t;
        // Inside a trailing `/**`, the path may end at any point.
        if (t === 'tail' && set[inner(k)]) set[k + 1] = 1;
        if (set[k] && (t === 'star' || t === 'any' || t === 'dirs' || t === 'tail')) set[k + 1] = 1;
      }
    };
    ring[0]![0] = 1;
    close(ring[0]!);
    for (let i = 0; i < n; i++) {
      const cur = ring[i % 5]!;
      let alive = false;
      const c = s.charCodeAt(i);
      const next = ring[(i + 1) % 5]!;
      for (let k = 0; k < m; k++) {
        const tok = tokens[k]!;
        if (cur[inner(k)]) {
          alive = true;
          // Inside `dirs`: anything, and a "/" may end it. Inside `tail`: anything, to the end.
          next[inner(k)] = 1;
          if (tok.t === 'dirs' && c === SLASH) next[k + 1] = 1;
        }
        if (!cur[k]) continue;
        alive = true;
        switch (tok.t) {
          case 'lit':
            if (c === tok.c) next[k + 1] = 1;
            break;
          case 'class':
            if (c !== SLASH && (tok.set[c] === 1) !== tok.negate) next[k + 1] = 1;
            break;
          case 'one': {
            const len = oneLength(s, i);
            if (len > 0) ring[(i + len) % 5]![k + 1] = 1;
            break;
          }
          case 'star':
            if (c !== SLASH) next[k] = 1;
            break;
          case 'any':
            next[k] = 1;
            break;
          case 'dirs':
            next[inner(k)] = 1;
            if (c === SLASH) next[k + 1] = 1;
            break;
          case 'tail':
            if (c === SLASH) next[inner(k)] = 1;
            break;
        }
      }
      cur.fill(0);
      if (!alive) {
        // Nothing live now; a `?` may still have landed further on.
        let later = false;
        for (let d = 1; d < 5 && !later; d++) later = ring[(i + d) % 5]!.includes(1);
        if (!later) return false;
      }
      close(next);
    }
    return ring[n % 5]![m] === 1;
  };
}

/**
 * Compile a glob. `engine` is for tests, which check that the two matchers agree: by default a
 * pattern with at most one unbounded wildcard is a RegExp, any other the NFA.
 */
export function compileGlob(pattern: string, engine?: 'regexp' | 'nfa'): Glob {
  const p = Buffer.from(pattern, 'utf8').toString('latin1');
  if (p.length > MAX_GLOB_BYTES) throw new SyntaxError(`longer than ${MAX_GLOB_BYTES} bytes`);
  const tokens = tokenize(p);
  const unbounded = tokens.filter((k) => k.t === 'star' || k.t === 'any' || k.t === 'dirs' || k.t === 'tail');
  if (engine === 'regexp' || (engine === undefined && unbounded.length <= 1)) {
    const re = toRegExp(tokens);
    return { pattern, test: (s) => re.test(s) };
  }
  const nfa = nfaMatcher(tokens);
  return { pattern, test: nfa };
}

/** Problems with a glob that would make it silently never match. */
export function globProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('/') && !pattern.startsWith('**')) {
    return `exclude pattern "${pattern}" must be absolute (start with "/") or start with "**/"`;
  }
  return classProblem(pattern);
}

/** A pattern the compiler refuses (a range from high to low such as "[z-a]", or too long), or undefined. */
export function classProblem(pattern: string): string | undefined {
  try {
    compileGlob(pattern);
  } catch (err) {
    if (Buffer.byteLength(pattern) > MAX_GLOB_BYTES)
      return `glob "${pattern.slice(0, 40)}…" is longer than ${MAX_GLOB_BYTES} bytes`;
    void err;
    return `glob "${pattern}" has an invalid character class (a range must go from low to high, e.g. "[a-z]")`;
  }
  return undefined;
}
