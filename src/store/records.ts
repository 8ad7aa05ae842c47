/**
 * A baseline's records: the `dir` table (each directory code once per baseline, see path-key.ts)
 * and the `record` table (each entry as directory id and name, its attributes through
 * record-codec.ts). Reading in key order is: directories by code, then each one's entries by name,
 * which is exactly the walk's order, so a full check compares while it scans with flat memory.
 *
 * It checks the key columns it reads (ids, codes, names) and leaves the attributes to the codec.
 * It must not open transactions (the callers write a baseline in one) nor judge a baseline's
 * integrity: a well-formed record that was edited is for the root check to find.
 */
import { displayBytes } from '../display.js';
import { joinKey, keyAsDir, keyDepth, keyToPath, splitKey } from '../path-key.js';
import type { FileRecord } from '../types.js';
import { FILE_TYPES } from '../types.js';
import type { Connection, Statement } from './db.js';
import { RECORD_COLUMNS, recordToRow, rowToRecord, valuesToRecord } from './record-codec.js';
import { badColumn, blob, id, type Row, type Where } from './row-check.js';

export interface KeyedRecord {
  key: Buffer;
  record: FileRecord;
}

const COLUMNS = RECORD_COLUMNS.join(', ');
/**
 * Entries of one directory read at once (see entriesOf). 128, not 512: a page's rows live until
 * the walk reaches them, and a larger page kept more of them alive across young-generation
 * collections (a `--fast` check of /usr here, 6 interleaved rounds: 2.88 s with 512, 2.58 s with
 * 128, 2.66 s with 32, 106 against 100 MB; the sample tree's small directories alike either way).
 */
export const ENTRY_PAGE = 128;
const SLASH = 0x2f;

/**
 * A name as a directory entry can have one: no NUL (keys would become ambiguous), no slash, and
 * not empty, except for the root "/" itself (the empty name in the root's empty directory code).
 */
function isName(name: Buffer, inRoot: boolean): boolean {
  if (name.length === 0) return inRoot;
  for (let i = 0; i < name.length; i++) if (name[i] === 0 || name[i] === SLASH) return false;
  return true;
}

/** Directory codes read at once by a subtree's walk of the `dir` table. */
const DIR_PAGE = 256;

/**
 * Subtrees a walk of records leaves out (handed to another thread's walk, which reads them
 * itself): ranges of directory codes, each [code, code + 00 02), added while the walk goes on.
 */
export class Skips {
  private readonly ranges: { lo: Buffer; hi: Buffer }[] = [];
  /** Bumped at each add, so a walk rechecks the directory it is in only when something changed. */
  version = 0;

  /** Leave out the directory `code` and everything below it. */
  add(code: Buffer): void {
    this.ranges.push({ lo: code, hi: subtreeEnd(code) });
    this.version++;
  }

  /** The end of the range that covers `code`, if one does. */
  covering(code: Buffer): Buffer | undefined {
    for (const r of this.ranges)
      if (Buffer.compare(code, r.lo) >= 0 && Buffer.compare(code, r.hi) < 0) return r.hi;
    return undefined;
  }
}

/** The first code past a directory's subtree: below `code` every code goes on with 00 01. */
export function subtreeEnd(code: Buffer): Buffer {
  return Buffer.concat([code, Buffer.from([0, 2])]);
}

export class RecordTable {
  private readonly inRecord: Where;
  private readonly inDir: Where;
  private stmts: {
    dirs: Statement;
    dirsIn: Statement;
    dirsFrom: Statement;
    dirId: Statement;
    entries: Statement;
    entriesAfter: Statement;
    one: Statement;
  } | null = null;

  constructor(private readonly c: Connection) {
    this.inRecord = { file: c.file, table: 'record' };
    this.inDir = { file: c.file, table: 'dir' };
  }

  private q() {
    const db = this.c.db;
    this.stmts ??= {
      dirs: db.prepare('SELECT code, id FROM dir WHERE baseline = ? ORDER BY code'),
      dirsIn: db.prepare(
        'SELECT code, id FROM dir WHERE baseline = ? AND code >= ? AND code < ? ORDER BY code',
      ),
      // The pages' sizes are written into the SQL, not bound: SQLite 3.53 prepares a statement
      // whose LIMIT is a parameter again at about every other run (about 10 µs each; half of a
      // check's directory reads did, counted with a uprobe on sqlite3Reprepare).
      dirsFrom: db.prepare(
        `SELECT code, id FROM dir WHERE baseline = ? AND code >= ? AND code < ? ORDER BY code LIMIT ${DIR_PAGE}`,
      ),
      dirId: db.prepare('SELECT id FROM dir WHERE baseline = ? AND code = ?').pluck(),
      // Rows as arrays (name, then RECORD_COLUMNS in order): no object with 20 named keys per row.
      // A directory's entries come in pages of ENTRY_PAGE after the last name read.
      entries: db
        .prepare(
          `SELECT name, ${COLUMNS} FROM record WHERE baseline = ? AND dir = ? ORDER BY name LIMIT ${ENTRY_PAGE}`,
        )
        .raw(true),
      entriesAfter: db
        .prepare(
          `SELECT name, ${COLUMNS} FROM record WHERE baseline = ? AND dir = ? AND name > ? ORDER BY name LIMIT ${ENTRY_PAGE}`,
        )
        .raw(true),
      one: db.prepare(`SELECT name, ${COLUMNS} FROM record WHERE baseline = ? AND dir = ? AND name = ?`),
    };
    return this.stmts;
  }

  /** A `dir` row's code and id, checked. */
  private dir(r: Row): { code: Buffer; id: number } {
    const code = blob(r.code, this.inDir, 'code');
    // A directory code is empty ("/") or a run of 00 01 <name>.
    if (code.length !== 0 && (code.length < 3 || code[0] !== 0 || code[1] !== 1)) {
      throw badColumn(this.inDir, 'code', code, 'a directory code (00 01 before each component)');
    }
    return { code, id: id(r.id, this.inDir, 'id', code) };
  }

  /** A `record` row's name under directory `code`, checked, joined into the entry's key. */
  private keyOf(code: Buffer, name: unknown): Buffer {
    if (Buffer.isBuffer(name) && isName(name, code.length === 0)) return joinKey(code, name);
    throw badColumn(
      this.inRecord,
      'name',
      name,
      'a file name (a blob without NUL or "/")',
      `in directory ${displayBytes(keyToPath(code))}`,
    );
  }

  private *entriesOf(baseline: number, code: Buffer, dirId: number): Generator<KeyedRecord> {
    // .all() of a page at a time, so no statement stays open across yields; pages, not the whole
    // directory, so memory stays flat: /usr/share/man/man1 here holds 17,865 entries, which read
    // at once took a check's live heap from 12 to 35 MB.
    const q = this.q();
    let after: Buffer | null = null;
    for (;;) {
      const rows = (
        after === null ? q.entries.all(baseline, dirId) : q.entriesAfter.all(baseline, dirId, after)
      ) as unknown[][];
      let name: Buffer | null = null;
      for (const r of rows) {
        const key = this.keyOf(code, r[0]);
        name = r[0] as Buffer; // a Buffer: keyOf refuses anything else
        yield { key, record: valuesToRecord(r, 1, key, this.inRecord) };
      }
      if (rows.length < ENTRY_PAGE || name === null) return;
      after = name;
    }
  }

  /**
   * Each regular file's path, device and inode, for the daemon's fanotify backend (a change
   * through a hard link names only the inode). A hint, not a record: rows that do not read as
   * blobs and integers are skipped, never trusted; the rescans that follow read records checked.
   */
  *fileInodes(baseline: number): Generator<{ path: Buffer; dev: bigint; inode: bigint }> {
    // The directories first, joined here: `dir` is keyed by (baseline, code), so a JOIN on its id
    // scanned it once per record (measured: 2.9 s of the daemon's start for 50,000 files).
    const codes = new Map<bigint, Buffer>();
    for (const d of this.c.db.prepare('SELECT id, code FROM dir WHERE baseline = ?').all(baseline) as Row[])
      if (typeof d.id === 'bigint' && Buffer.isBuffer(d.code)) codes.set(d.id, d.code);
    // Streamed: the daemon keeps these packed (watch/inode-paths.ts); all 50,000 rows and paths at
    // once were a 20 MB step of its memory at start, which the allocator kept.
    const rows = this.c.db
      .prepare('SELECT dir, name, dev, inode FROM record WHERE baseline = ? AND type = ?')
      .iterate(baseline, FILE_TYPES.indexOf('file')) as Iterable<Row>;
    for (const r of rows) {
      const { name, dev, inode } = r;
      const code = typeof r.dir === 'bigint' ? codes.get(r.dir) : undefined;
      if (
        code === undefined ||
        !Buffer.isBuffer(name) ||
        typeof dev !== 'bigint' ||
        typeof inode !== 'bigint'
      )
        continue;
      yield {
        path: keyToPath(joinKey(code, name)),
        dev: BigInt.asUintN(64, dev),
        inode: BigInt.asUintN(64, inode),
      };
    }
  }

  /** Records of a baseline in key (walk) order. */
  *all(baseline: number): Generator<KeyedRecord> {
    // Directories stream (reads may run while a read iterates); one directory's entries at a time.
    // Two walks at once (`fim diff` reads two baselines side by side): a statement that is being
    // iterated cannot be iterated again, so the second walk gets a statement of its own.
    const cached = this.q().dirs;
    const dirs = cached.busy ? this.c.db.prepare(cached.source) : cached;
    for (const d of dirs.iterate(baseline) as Iterable<Row>) {
      const { code, id } = this.dir(d);
      yield* this.entriesOf(baseline, code, id);
    }
  }

  /**
   * The records below the directory `code` (its entries and everything deeper), in key order, but
   * not those of the subtrees in `skips`, which may grow while this walk goes on: a directory that
   * is handed over while its entries are being read is left at once. Directories come in pages
   * (no statement stays open across yields).
   */
  *subtree(baseline: number, code: Buffer, skips: Skips): Generator<KeyedRecord> {
    const end = subtreeEnd(code);
    let from = code;
    for (;;) {
      const page = this.q().dirsFrom.all(baseline, from, end) as Row[];
      let jumped = false;
      for (const r of page) {
        const d = this.dir(r);
        const past = skips.covering(d.code);
        if (past) {
          from = past;
          jumped = true;
          break;
        }
        let v = skips.version;
        for (const e of this.entriesOf(baseline, d.code, d.id)) {
          if (skips.version !== v) {
            v = skips.version;
            if (skips.covering(d.code)) break;
          }
          yield e;
        }
        from = Buffer.concat([d.code, Buffer.from([0])]);
      }
      if (!jumped && page.length < DIR_PAGE) return;
    }
  }

  /**
   * Records at or below each of several path keys (none below another), in key order. With a
   * finite `depth`, only that many levels below each key.
   */
  *underMany(
    baseline: number,
    scopeKeys: readonly Buffer[],
    depth = Number.POSITIVE_INFINITY,
  ): Generator<KeyedRecord> {
    // Units that never overlap in key space: a scope's own record (one key), and the directories
    // at or below each scope (each a contiguous run of keys starting at code + 00 00).
    type Unit = {
      start: Buffer;
      own?: { parent: Buffer; name: Buffer };
      dir?: { code: Buffer; id: number };
    };
    const units: Unit[] = [];
    for (const k of scopeKeys) {
      if (k.length > 0) {
        const { parent, name } = splitKey(k);
        units.push({ start: k, own: { parent, name } });
      }
      const code = keyAsDir(k);
      const base = keyDepth(k);
      const end = Buffer.concat([code, Buffer.from([0, 2])]);
      for (const r of this.q().dirsIn.all(baseline, code, end) as Row[]) {
        const d = this.dir(r);
        // A directory's entries lie one level below it.
        if (keyDepth(d.code) - base + 1 > depth) continue;
        units.push({ start: Buffer.concat([d.code, Buffer.from([0, 0])]), dir: d });
      }
    }
    units.sort((a, b) => Buffer.compare(a.start, b.start));
    for (const u of units) {
      if (u.own) {
        const dirId = this.dirIdOf(baseline, u.own.parent);
        if (dirId === undefined) continue;
        const r = this.q().one.get(baseline, dirId, u.own.name) as Row | undefined;
        if (r) yield { key: u.start, record: rowToRecord(r, u.start, this.inRecord) };
      } else if (u.dir) {
        yield* this.entriesOf(baseline, u.dir.code, u.dir.id);
      }
    }
  }

  /** The id of a directory code in a baseline, if it has one. */
  private dirIdOf(baseline: number, code: Buffer): number | undefined {
    const v: unknown = this.q().dirId.get(baseline, code);
    return v === undefined ? undefined : id(v, this.inDir, 'id', code);
  }

  /** Insert-statement factory for writing a baseline's records inside a transaction, in key order. */
  writer(baseline: number): (key: Buffer, r: FileRecord) => void {
    const insert = this.c.db.prepare(
      `INSERT INTO record (baseline, dir, name, ${COLUMNS}) VALUES (?, ?, ?${', ?'.repeat(RECORD_COLUMNS.length)})`,
    );
    const dirId = this.dirIdFor(baseline);
    // Records come in walk order: runs of entries of one directory. Its id is looked up once a run.
    let lastParent: Buffer | null = null;
    let lastId = 0;
    return (key, r) => {
      const { parent, name } = splitKey(key);
      if (lastParent === null || !lastParent.equals(parent)) {
        lastId = dirId(parent);
        lastParent = parent;
      }
      insert.run(baseline, lastId, name, ...recordToRow(r));
    };
  }

  /** The id of a directory code in a baseline, created when new. */
  private dirIdFor(baseline: number): (code: Buffer) => number {
    const insert = this.c.db.prepare('INSERT INTO dir (baseline, code, id) VALUES (?,?,?)');
    const known = new Map<string, number>();
    const max: unknown = this.c.db
      .prepare('SELECT max(id) FROM dir WHERE baseline = ?')
      .pluck()
      .get(baseline);
    let next = (max === null || max === undefined ? 0 : id(max, this.inDir, 'id')) + 1;
    return (code) => {
      const k = code.toString('latin1');
      let dirId = known.get(k);
      if (dirId === undefined) {
        dirId = this.dirIdOf(baseline, code);
        if (dirId === undefined) {
          dirId = next++;
          insert.run(baseline, code, dirId);
        }
        known.set(k, dirId);
      }
      return dirId;
    };
  }

  /** Keep the records (and directories) of `keep` and of the newest `count` baselines; drop the rest. */
  pruneExcept(keep: number, count = 1): void {
    const db = this.c.db;
    const inBaseline: Where = { file: this.c.file, table: 'baseline' };
    const newest = db.prepare('SELECT id FROM baseline ORDER BY id DESC LIMIT ?').pluck().all(count);
    const kept = [...new Set([keep, ...newest.map((v) => id(v, inBaseline, 'id'))])].sort((x, y) => x - y);
    // What lies between the kept ids, as ranges of the tables' primary keys (which start with the
    // baseline): only the rows deleted are read. `NOT IN` the kept ids read every row of every
    // kept baseline as well (five baselines of the sample tree: 50-72 against 21-23 ms, at every
    // `fim baseline`; bench/probes/prune.mjs). Rows of an id with no metadata, or of an id that is not an integer, go alike.
    for (const table of ['record', 'dir']) {
      db.prepare(`DELETE FROM ${table} WHERE baseline < ?`).run(kept[0]);
      const between = db.prepare(`DELETE FROM ${table} WHERE baseline > ? AND baseline < ?`);
      for (let i = 1; i < kept.length; i++) between.run(kept[i - 1], kept[i]);
      db.prepare(`DELETE FROM ${table} WHERE baseline > ?`).run(kept[kept.length - 1]);
    }
  }

  /** Whether a baseline still has its records (older ones beyond baselines.keep are pruned). */
  has(baseline: number): boolean {
    return this.c.db.prepare('SELECT 1 FROM dir WHERE baseline = ? LIMIT 1').get(baseline) !== undefined;
  }

  copy(from: number, to: number): void {
    this.c.db
      .prepare('INSERT INTO dir (baseline, code, id) SELECT ?, code, id FROM dir WHERE baseline = ?')
      .run(to, from);
    this.c.db
      .prepare(
        `INSERT INTO record (baseline, dir, name, ${COLUMNS}) SELECT ?, dir, name, ${COLUMNS} FROM record WHERE baseline = ?`,
      )
      .run(to, from);
  }

  delete(baseline: number, key: Buffer): void {
    const { parent, name } = splitKey(key);
    const dirId = this.dirIdOf(baseline, parent);
    if (dirId !== undefined) {
      this.c.db
        .prepare('DELETE FROM record WHERE baseline = ? AND dir = ? AND name = ?')
        .run(baseline, dirId, name);
    }
  }
}
