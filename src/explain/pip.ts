/**
 * pip's RECORD files: each installed wheel's `NAME-VERSION.dist-info/RECORD` lists every file it
 * installed (relative to site-packages, `../../../bin/x` for scripts) with `sha256=` and the
 * digest in URL-safe base64 (PEP 376, PEP 627). Found from a changed file's path: its nearest
 * `site-packages` (or `dist-packages`) ancestor, or the `lib/python3*` site-packages of the nearest
 * virtualenv (`pyvenv.cfg`) above it, so a venv's `bin/` scripts are found too.
 *
 * What it proves is little: an intruder on the host edits a RECORD as easily as the file it lists.
 * It is corroboration (strength `pip-record`), never a reason to lower a severity. RECORDs are
 * hostile input: bounded in size and count, and a line that does not parse is skipped.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { displayBytes } from '../display.js';
import { readBounded } from './bounded.js';

const MAX_RECORD_BYTES = 16 << 20;
const MAX_DIST_INFOS = 10_000;

export interface PipEntry {
  sha256: Buffer;
  package: string;
  version: string | null;
  record: Buffer;
}

export class PipIndex {
  /** site-packages directory (latin1) → absolute path (latin1) → entry. */
  private readonly sites = new Map<string, Map<string, PipEntry>>();
  /** directory (latin1) → the site-packages directories that may list its files. */
  private readonly sitesFor = new Map<string, string[]>();
  readonly problems: string[] = [];

  /** The RECORD entry that lists `path`, if any wheel does. */
  lookup(path: Buffer): PipEntry | undefined {
    const key = path.toString('latin1');
    for (const site of this.candidates(dirname(key))) {
      const e = this.site(site).get(key);
      if (e) return e;
    }
    return undefined;
  }

  private candidates(dir: string): string[] {
    const known = this.sitesFor.get(dir);
    if (known) return known;
    let found: string[];
    const base = dir.slice(dir.lastIndexOf('/') + 1);
    if (base === 'site-packages' || base === 'dist-packages') found = [dir];
    else if (hasEntry(dir, 'pyvenv.cfg')) found = venvSites(dir);
    else if (dir === '/' || dir === '') found = [];
    else found = this.candidates(dirname(dir));
    this.sitesFor.set(dir, found);
    return found;
  }

  private site(site: string): Map<string, PipEntry> {
    let m = this.sites.get(site);
    if (m) return m;
    m = new Map();
    this.sites.set(site, m);
    let infos: string[] = [];
    try {
      infos = readdirSync(Buffer.from(site, 'latin1'), { encoding: 'buffer' })
        .map((n) => n.toString('latin1'))
        .filter((n) => n.endsWith('.dist-info'));
    } catch {
      return m;
    }
    for (const info of infos.slice(0, MAX_DIST_INFOS)) {
      // A directory name is any bytes: shown in the display form, so it cannot break a log line.
      const [name, version] = splitDistInfo(displayBytes(Buffer.from(info, 'latin1')));
      const record = Buffer.from(join(site, info, 'RECORD'), 'latin1');
      const r = readBounded(record, MAX_RECORD_BYTES);
      if (!r.ok) {
        if (!r.problem.startsWith('cannot open'))
          this.problems.push(`${record.toString('latin1')}: ${r.problem}`);
        continue;
      }
      for (const row of parseRecord(r.bytes.toString('utf8'))) {
        const sha = /^sha256=([A-Za-z0-9_-]{43})$/.exec(row.hash);
        if (!sha?.[1]) continue;
        const abs = Buffer.from(
          normalize(join(Buffer.from(site, 'latin1').toString('utf8'), row.path)),
          'utf8',
        );
        m.set(abs.toString('latin1'), {
          sha256: Buffer.from(sha[1], 'base64url'),
          package: name,
          version,
          record,
        });
      }
    }
    return m;
  }
}

function hasEntry(dir: string, name: string): boolean {
  try {
    return lstatSync(Buffer.from(join(dir, name), 'latin1')).isFile();
  } catch {
    return false;
  }
}

function venvSites(venv: string): string[] {
  const lib = join(venv, 'lib');
  try {
    return readdirSync(Buffer.from(lib, 'latin1'), { encoding: 'buffer' })
      .map((n) => n.toString('latin1'))
      .filter((n) => /^python3(\.\d+)?$/.test(n))
      .map((n) => join(lib, n, 'site-packages'));
  } catch {
    return [];
  }
}

/** `requests-2.32.3.dist-info` → ["requests", "2.32.3"]. */
export function splitDistInfo(info: string): [string, string | null] {
  const stem = info.slice(0, -'.dist-info'.length);
  const dash = stem.indexOf('-');
  return dash < 0 ? [stem, null] : [stem.slice(0, dash), stem.slice(dash + 1)];
}

/** RECORD's CSV (path, hash, size), with quoted fields where a path holds a comma or a quote. */
export function parseRecord(text: string): { path: string; hash: string }[] {
  const out: { path: string; hash: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    const fields: string[] = [];
    let i = 0;
    while (i <= line.length && fields.length < 4) {
      if (line[i] === '"') {
        let v = '';
        i++;
        while (i < line.length) {
          if (line[i] === '"' && line[i + 1] === '"') {
            v += '"';
            i += 2;
          } else if (line[i] === '"') {
            i++;
            break;
          } else v += line[i++];
        }
        fields.push(v);
        i++; // the comma
      } else {
        const end = line.indexOf(',', i);
        fields.push(end < 0 ? line.slice(i) : line.slice(i, end));
        i = end < 0 ? line.length + 1 : end + 1;
      }
    }
    const [path, hash] = fields;
    if (path && hash !== undefined && !path.includes('\0')) out.push({ path, hash });
  }
  return out;
}
