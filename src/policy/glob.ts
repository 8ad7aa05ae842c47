/**
 * Exclude globs over absolute paths, matched against raw path bytes. A pattern is UTF-8 text; the
 * path is bytes that need not be UTF-8, so both are compared as latin1 strings (one char per byte,
 * lossless). `**` matches anything including `/`; `*` anything but `/`; `?` one character but `/`;
 * `[...]` a byte class. A trailing `/**` also matches the directory itself, so an excluded
 * directory is neither recorded nor descended into.
 */

/**
 * One UTF-8 sequence or, where the bytes are not one, one byte; never `/`. A lead byte matches
 * alone only when no continuation byte follows, so backtracking cannot split a character in two.
 */
const ONE_CHAR =
  '(?:[\\x00-\\x2e\\x30-\\x7f]|[\\xc2-\\xdf][\\x80-\\xbf]|[\\xe0-\\xef][\\x80-\\xbf]{2}|[\\xf0-\\xf4][\\x80-\\xbf]{3}|[\\xc0-\\xff](?![\\x80-\\xbf])|[\\x80-\\xbf])';

export function compileGlob(pattern: string): RegExp {
  const p = Buffer.from(pattern, 'utf8').toString('latin1');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        // "/**" at the end: the directory itself or anything below it.
        if (p[i - 1] === '/' && i + 2 === p.length) {
          // The "/" before "**" was written escaped, as two characters.
          re = `${re.slice(0, -2)}(?:/.*)?`;
          i++;
          continue;
        }
        // "**/" in the middle: zero or more whole directories.
        if (p[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
          continue;
        }
        re += '.*';
        i++;
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += ONE_CHAR;
    } else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end === -1) {
        re += '\\[';
        continue;
      }
      let body = p.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      // A class never matches "/" (as with fnmatch's FNM_PATHNAME), not even through a range such
      // as "[*-a]". Said with a lookahead rather than by putting "/" in the class, where a body
      // starting with "-" would turn it into a range ("[!-a]" → "[^/-a]").
      re += `(?!/)[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else {
      re += c.replace(/[.+^${}()|\\/[\]]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`, 's');
}

/** Problems with a glob that would make it silently never match. */
export function globProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('/') && !pattern.startsWith('**')) {
    return `exclude pattern "${pattern}" must be absolute (start with "/") or start with "**/"`;
  }
  return classProblem(pattern);
}

/** A character class the regular-expression engine refuses (e.g. the range "[z-a]"), or undefined. */
export function classProblem(pattern: string): string | undefined {
  try {
    compileGlob(pattern);
  } catch {
    return `glob "${pattern}" has an invalid character class (a range must go from low to high, e.g. "[a-z]")`;
  }
  return undefined;
}
