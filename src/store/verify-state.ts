/**
 * verify-log's state on the log server (`--state FILE`): a SQLite file of its own (not a fim
 * database), holding each host's verification state as the verifier snapshots it
 * (verify/snapshot.ts: JSON, checked there as it is read back), the final problems already
 * reported (so each is reported once), where each input file was read up to (so a periodic run
 * reads on from there, and a rotated file, a new inode, is read from its start), and the master
 * keys a host handed over to by a signed rotation message (so the next run still follows them).
 * One transaction saves all of it: a verifier killed mid-run leaves the previous state whole, and
 * the next run reads the same lines again.
 *
 * It stores; it must not verify anything.
 */
import { StorageError } from '../errors.js';
import { type Db, type FileKind, openFileOfKind, openFileOfKindReadonly, writeTransaction } from './db.js';
import { blob, count, type Row, type Where } from './row-check.js';

const STATE_KIND: FileKind = {
  name: 'verify-log state file',
  applicationId: 0x46494d56, // "FIMV"
  fix: 'move it aside (the next run starts afresh and may report old problems again)',
  migrations: [
    `
    CREATE TABLE host_state (host TEXT PRIMARY KEY, state TEXT NOT NULL);
    CREATE TABLE reported_problem (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
    CREATE TABLE input (
      name TEXT PRIMARY KEY,
      dev TEXT NOT NULL,
      ino TEXT NOT NULL,
      offset INTEGER NOT NULL,
      lines INTEGER NOT NULL,
      head BLOB NOT NULL
    );
    CREATE TABLE handover (host TEXT NOT NULL, pubkey TEXT NOT NULL, PRIMARY KEY (host, pubkey));
    `,
    // `fim fleet ack`: what an operator acknowledged of a host (never written by the verifier).
    `
    CREATE TABLE fleet_ack (
      host TEXT PRIMARY KEY,
      at_ms INTEGER NOT NULL,
      problems TEXT NOT NULL,
      missing INTEGER NOT NULL
    );
    `,
  ],
};

/** What `fim fleet ack` recorded for a host: its problem counts and missing messages at that time. */
export interface FleetAck {
  atMs: number;
  problems: Record<string, number>;
  missing: number;
}

/** Problem kinds an acknowledgement may hold (a bound on what is read back). */
const MAX_ACK_KINDS = 64;

/** Where an input file was read up to: its identity, the byte offset after the last whole line, lines so far. */
export interface InputPosition {
  dev: string;
  ino: string;
  offset: number;
  lines: number;
  /** The file's first bytes (up to 256): a file rewritten in place under the same inode is read anew. */
  head: Buffer;
}

export interface SavedState {
  /** Each host's snapshot; iterated once, inside the save's transaction (a lazy one keeps one at a time). */
  hosts: Iterable<readonly [string, unknown]>;
  reported: string[];
}

export class VerifyStateFile {
  private readonly db: Db;
  private readonly where: Where;

  private constructor(
    readonly file: string,
    readonly: boolean,
  ) {
    this.db = readonly ? openFileOfKindReadonly(file, STATE_KIND) : openFileOfKind(file, STATE_KIND);
    this.where = { file, table: 'verify state' };
  }

  static open(file: string): VerifyStateFile {
    return new VerifyStateFile(file, false);
  }

  /** For reading only (`fim fleet status`): nothing is written, and nothing is made beside the file (db.ts). */
  static openReadonly(file: string): VerifyStateFile {
    return new VerifyStateFile(file, true);
  }

  /** The hosts' snapshots (parsed JSON, still unchecked) and the reported problem keys. */
  load(): { hosts: Map<string, unknown>; reported: Set<string> } {
    const hosts = new Map<string, unknown>();
    for (const r of this.db.prepare('SELECT host, state FROM host_state').all() as Row[]) {
      if (typeof r.host !== 'string' || typeof r.state !== 'string')
        throw new StorageError(`${this.file}: a host_state row is not text; ${STATE_KIND.fix}`);
      try {
        hosts.set(r.host, JSON.parse(r.state) as unknown);
      } catch {
        throw new StorageError(
          `${this.file}: the saved state of host ${r.host} is not JSON; ${STATE_KIND.fix}`,
        );
      }
    }
    const reported = new Set<string>();
    for (const k of this.db.prepare('SELECT key FROM reported_problem ORDER BY id').pluck().all())
      if (typeof k === 'string') reported.add(k);
    return { hosts, reported };
  }

  input(name: string): InputPosition | null {
    const r = this.db.prepare('SELECT dev, ino, offset, lines, head FROM input WHERE name = ?').get(name) as
      | Row
      | undefined;
    if (!r) return null;
    const w = { ...this.where, table: 'input' };
    if (typeof r.dev !== 'string' || typeof r.ino !== 'string') return null;
    return {
      dev: r.dev,
      ino: r.ino,
      offset: count(r.offset, w, 'offset'),
      lines: count(r.lines, w, 'lines'),
      head: blob(r.head, w, 'head'),
    };
  }

  /** Master public keys (enrolment file texts) a host handed over to, by host. */
  handovers(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const r of this.db.prepare('SELECT host, pubkey FROM handover ORDER BY rowid').all() as Row[]) {
      if (typeof r.host !== 'string' || typeof r.pubkey !== 'string') continue;
      out.set(r.host, [...(out.get(r.host) ?? []), r.pubkey]);
    }
    return out;
  }

  /** The acknowledgements of `fim fleet ack`, by host; a row that is not what ack writes is refused. */
  acks(): Map<string, FleetAck> {
    const out = new Map<string, FleetAck>();
    const w = { ...this.where, table: 'fleet_ack' };
    for (const r of this.db.prepare('SELECT host, at_ms, problems, missing FROM fleet_ack').all() as Row[]) {
      const bad = () =>
        new StorageError(`${this.file}: a fleet_ack row is not what fim fleet ack writes; ${STATE_KIND.fix}`);
      if (typeof r.host !== 'string' || typeof r.problems !== 'string') throw bad();
      let parsed: unknown;
      try {
        parsed = JSON.parse(r.problems);
      } catch {
        throw bad();
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad();
      const entries = Object.entries(parsed);
      if (
        entries.length > MAX_ACK_KINDS ||
        entries.some(([, n]) => !Number.isSafeInteger(n) || (n as number) < 0)
      )
        throw bad();
      out.set(r.host, {
        atMs: count(r.at_ms, w, 'at_ms'),
        problems: Object.fromEntries(entries) as Record<string, number>,
        missing: count(r.missing, w, 'missing'),
      });
    }
    return out;
  }

  /** Records acknowledgements (one transaction); the verifier never touches them. */
  ack(acks: ReadonlyMap<string, FleetAck>): void {
    const put = this.db.prepare(
      'INSERT OR REPLACE INTO fleet_ack (host, at_ms, problems, missing) VALUES (?, ?, ?, ?)',
    );
    writeTransaction({ db: this.db, file: this.file }, () => {
      for (const [host, a] of acks) put.run(host, a.atMs, JSON.stringify(a.problems), a.missing);
    });
  }

  /** Saves everything in one transaction. */
  save(
    s: SavedState,
    input?: { name: string; pos: InputPosition },
    handovers: [string, string][] = [],
  ): void {
    const conn = { db: this.db, file: this.file };
    const putHost = this.db.prepare('INSERT OR REPLACE INTO host_state (host, state) VALUES (?, ?)');
    const putKey = this.db.prepare('INSERT OR IGNORE INTO reported_problem (key) VALUES (?)');
    const putInput = this.db.prepare(
      'INSERT OR REPLACE INTO input (name, dev, ino, offset, lines, head) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const putHandover = this.db.prepare('INSERT OR IGNORE INTO handover (host, pubkey) VALUES (?, ?)');
    writeTransaction(conn, () => {
      for (const [host, state] of s.hosts) putHost.run(host, JSON.stringify(state));
      this.db.exec('DELETE FROM reported_problem');
      for (const k of s.reported) putKey.run(k);
      if (input) {
        const p = input.pos;
        putInput.run(input.name, p.dev, p.ino, p.offset, p.lines, p.head);
      }
      for (const [host, pubkey] of handovers) putHandover.run(host, pubkey);
    });
  }

  close(): void {
    this.db.close();
  }
}
