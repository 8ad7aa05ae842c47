/**
 * The baseline table: one row of metadata per baseline (when, label, host, policy hash, counts, the
 * root and its signature, its parent and why it was made), checked as it is read.
 *
 * It must not touch records (records.ts) nor decide whether a baseline can be trusted: it reads the
 * stored root and signature, and the callers recompute and verify them (root.ts, ops/baseline.ts).
 */
import { ROOT_FORMATS, type RootFormat } from '../fields.js';
import type { Connection, Statement } from './db.js';
import {
  blob,
  count,
  id,
  idOrNull,
  int64,
  intIn,
  type Row,
  text,
  textOrNull,
  uint64,
  type Where,
} from './row-check.js';

export interface BaselineMeta {
  id: number;
  createdNs: bigint;
  label: string;
  host: string;
  policyHash: Buffer;
  files: number;
  bytes: bigint;
  root: Buffer;
  signature: string | null;
  parent: number | null;
  reason: string;
  /** The root format its root was made in (src/fields.ts), and is verified in. */
  format: RootFormat;
}

/** The root and the policy hash are BLAKE3-256 digests. */
const DIGEST_BYTES = 32;

export class BaselineTable {
  private readonly where: Where;
  private stmts: {
    latest: Statement;
    byId: Statement;
    maxId: Statement;
    insert: Statement;
  } | null = null;

  constructor(private readonly c: Connection) {
    this.where = { file: c.file, table: 'baseline' };
  }

  private q() {
    this.stmts ??= {
      latest: this.c.db.prepare('SELECT * FROM baseline ORDER BY id DESC LIMIT 1'),
      byId: this.c.db.prepare('SELECT * FROM baseline WHERE id = ?'),
      maxId: this.c.db.prepare('SELECT max(id) FROM baseline').pluck(),
      insert: this.c.db.prepare(
        'INSERT INTO baseline (id, created_ns, label, host, policy_hash, files, bytes, root, signature, parent, reason, format) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
      ),
    };
    return this.stmts;
  }

  latest(): BaselineMeta | undefined {
    const r = this.q().latest.get() as Row | undefined;
    return r ? this.toMeta(r) : undefined;
  }

  byId(baselineId: number): BaselineMeta | undefined {
    const r = this.q().byId.get(baselineId) as Row | undefined;
    return r ? this.toMeta(r) : undefined;
  }

  latestId(): number | null {
    return idOrNull(this.q().maxId.get() ?? null, this.where, 'id');
  }

  nextId(): number {
    return (this.latestId() ?? 0) + 1;
  }

  insert(m: BaselineMeta): void {
    this.q().insert.run(
      m.id,
      m.createdNs,
      m.label,
      m.host,
      m.policyHash,
      m.files,
      m.bytes,
      m.root,
      m.signature,
      m.parent,
      m.reason,
      m.format,
    );
  }

  /** Replace a baseline's root signature (after `fim keygen --rotate` re-signed the verified root). */
  setSignature(baselineId: number, signature: string): void {
    this.c.db.prepare('UPDATE baseline SET signature = ? WHERE id = ?').run(signature, baselineId);
  }

  /** Keep the policy texts a baseline was made under (JSON). */
  savePolicy(baselineId: number, sourcesJson: string): void {
    this.c.db
      .prepare('INSERT OR REPLACE INTO baseline_policy (baseline, sources) VALUES (?, ?)')
      .run(baselineId, Buffer.from(sourcesJson));
  }

  /** The policy texts of a baseline (JSON), or undefined for one made before they were kept. */
  policy(baselineId: number): string | undefined {
    const v = this.c.db
      .prepare('SELECT sources FROM baseline_policy WHERE baseline = ?')
      .pluck()
      .get(baselineId);
    return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
  }

  private toMeta(r: Row): BaselineMeta {
    const w = this.where;
    const at = typeof r.id === 'bigint' ? r.id : undefined;
    return {
      id: id(r.id, w, 'id'),
      createdNs: int64(r.created_ns, w, 'created_ns', at),
      label: text(r.label, w, 'label', at),
      host: text(r.host, w, 'host', at),
      policyHash: blob(r.policy_hash, w, 'policy_hash', at, DIGEST_BYTES),
      files: count(r.files, w, 'files', at),
      bytes: uint64(r.bytes, w, 'bytes', at),
      root: blob(r.root, w, 'root', at, DIGEST_BYTES),
      signature: textOrNull(r.signature, w, 'signature', at),
      parent: idOrNull(r.parent, w, 'parent', at),
      reason: text(r.reason, w, 'reason', at),
      format: intIn(r.format, 1n, BigInt(Math.max(...ROOT_FORMATS)), w, 'format', at) as RootFormat,
    };
  }
}
