/**
 * The daemon's reported set: per baseline, which paths it has already alerted on and in what state
 * (a signature of the finding, and the journaled finding's id), so that a restart or a rescan does
 * not alert on the same change again, and a change of a change does.
 *
 * It stores what the daemon hands it and checks what it reads back; it must not compute the
 * signatures (the daemon does) nor outlive a baseline's successor (`move` drops older rows).
 */
import type { Connection } from './db.js';
import { blob, idOrNull, type Row, type Where } from './row-check.js';

export interface ReportedEntry {
  /** The finding's signature, hex. */
  sig: string;
  finding: number | null;
}

export class ReportedSet {
  private readonly where: Where;

  constructor(private readonly c: Connection) {
    this.where = { file: c.file, table: 'reported' };
  }

  /** Everything reported under a baseline, by path key (latin1, so the bytes survive as a string). */
  load(baseline: number): Map<string, ReportedEntry> {
    const w = this.where;
    const m = new Map<string, ReportedEntry>();
    const rows = this.c.db
      .prepare('SELECT key, sig, finding FROM reported WHERE baseline = ?')
      .all(baseline) as Row[];
    for (const r of rows) {
      const key = blob(r.key, w, 'key');
      m.set(key.toString('latin1'), {
        sig: blob(r.sig, w, 'sig', key, -1, 1).toString('hex'),
        finding: idOrNull(r.finding, w, 'finding', key),
      });
    }
    return m;
  }

  set(baseline: number, key: Buffer, sigHex: string, finding: number | null): void {
    const sig = Buffer.from(sigHex, 'hex');
    this.c.db
      .prepare('INSERT OR REPLACE INTO reported (baseline, key, sig, finding) VALUES (?,?,?,?)')
      .run(baseline, key, sig, finding);
  }

  clear(baseline: number, key: Buffer): void {
    this.c.db.prepare('DELETE FROM reported WHERE baseline = ? AND key = ?').run(baseline, key);
  }

  /** Carry open findings over to a new baseline (after `accept`), dropping older baselines' rows. */
  move(from: number, to: number): void {
    this.c.db
      .prepare(
        'INSERT OR REPLACE INTO reported (baseline, key, sig, finding) SELECT ?, key, sig, finding FROM reported WHERE baseline = ?',
      )
      .run(to, from);
    this.c.db.prepare('DELETE FROM reported WHERE baseline <> ?').run(to);
  }
}
