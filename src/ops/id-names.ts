/**
 * User and group names for reports: uid and gid looked up in the host's /etc/passwd and /etc/group
 * (Node has no getpwuid). Names are a reading aid only: an intruder who is root can edit those
 * files, so the numeric ids stay the compared, authoritative values. A file that cannot be read
 * gives no names, never an error.
 */
import { readFileSync } from 'node:fs';
import type { IdNames } from '../report/report.js';

/** Larger account files than this are not read (a FIFO or /dev/zero in their place must not hang us). */
const MAX_BYTES = 16 << 20;

function parse(file: string): Map<number, string> {
  const out = new Map<number, string>();
  let text: string;
  try {
    const buf = readFileSync(file, { flag: 'r' });
    if (buf.length > MAX_BYTES) return out;
    text = buf.toString('utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (!name || id === undefined || !/^\d+$/.test(id)) continue;
    const n = Number(id);
    if (!out.has(n)) out.set(n, name); // the first entry wins, as getpwuid(3) does
  }
  return out;
}

export function hostIdNames(root = '/etc'): IdNames {
  let users: Map<number, string> | undefined;
  let groups: Map<number, string> | undefined;
  return {
    user: (uid) => {
      users ??= parse(`${root}/passwd`);
      return users.get(uid);
    },
    group: (gid) => {
      groups ??= parse(`${root}/group`);
      return groups.get(gid);
    },
  };
}
