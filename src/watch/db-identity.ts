/**
 * Which file the daemon's database is: the device and inode it had when opened. An intruder who
 * replaces it (`sqlite3 fim.db ".backup x"; mv x fim.db`) or deletes it leaves the daemon holding
 * an unlinked file, into which it would go on journaling while `fim show` reads another. The
 * daemon checks before it journals, on every batch of events and at each heartbeat.
 */
import { statSync } from 'node:fs';

export class DatabaseIdentity {
  private readonly dev: bigint;
  private readonly ino: bigint;

  constructor(readonly path: string) {
    const st = statSync(path, { bigint: true });
    this.dev = st.dev;
    this.ino = st.ino;
  }

  /** What happened to the file at the path since it was opened, or null when it is still ours. */
  changed(): 'replaced by another file' | 'deleted' | null {
    let st: { dev: bigint; ino: bigint };
    try {
      st = statSync(this.path, { bigint: true });
    } catch {
      return 'deleted';
    }
    return st.dev === this.dev && st.ino === this.ino ? null : 'replaced by another file';
  }

  /** The alert text when the file at the path is not ours any more, or null. */
  problem(): string | null {
    const what = this.changed();
    return what
      ? `the database ${this.path} was ${what} while fim watched: stopping (restore it, or run "fim baseline", then restart)`
      : null;
  }
}
