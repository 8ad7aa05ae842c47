/**
 * The chain of alert sessions: which session is the host's newest, and each recent session's last
 * sequence number and last message digest. A new session becomes the newest and learns its
 * predecessor in one write transaction, so two commands starting at once still form a line and
 * never both claim the same predecessor (the log server reads two such claims as a fork: a
 * restored database or a cloned host). Each message moves its session's head in the transaction
 * that hands it to the transport (for TCP/TLS, the outbox row is written in it too).
 *
 * It stores and checks rows; it must not format, sign or send (src/alert does), and it keeps only
 * the newest KEEP_SESSIONS sessions: the chain's history is on the log server, not here.
 */
import { type Connection, writeTransaction } from './db.js';
import { badColumn, count, type Row, type Where } from './row-check.js';

/** Sessions kept: enough for every command that may run beside one daemon session. */
const KEEP_SESSIONS = 32;
const SID_RE = /^[0-9a-f]{16}$/;
const DIGEST_RE = /^([0-9a-f]{64})?$/;

/** The last message of a session, as the next session's start names it. */
export interface ChainHead {
  sid: string;
  seq: number;
  digest: string;
}

export interface SessionChainTable {
  open(sid: string, kind: string, tNs: bigint): ChainHead | null;
  advance(sid: string, seq: number, digest: string, send: () => void): void;
}

export function openSessionChain(c: Connection): SessionChainTable {
  const where: Where = { file: c.file, table: 'alert_session' };
  const head = c.db.prepare('SELECT sid, last_seq, last_digest FROM alert_session ORDER BY id DESC LIMIT 1');
  const insert = c.db.prepare(
    "INSERT INTO alert_session (sid, kind, started_ns, last_seq, last_digest) VALUES (?, ?, ?, 0, '')",
  );
  const prune = c.db.prepare('DELETE FROM alert_session WHERE id <= (SELECT max(id) FROM alert_session) - ?');
  const update = c.db.prepare('UPDATE alert_session SET last_seq = ?, last_digest = ? WHERE sid = ?');
  const text = (v: unknown, column: string, re: RegExp): string => {
    if (typeof v !== 'string' || !re.test(v)) throw badColumn(where, column, v, 'a session id or digest');
    return v;
  };
  return {
    open: (sid, kind, tNs) =>
      writeTransaction(c, () => {
        const r = head.get() as Row | undefined;
        const prev: ChainHead | null = r
          ? {
              sid: text(r.sid, 'sid', SID_RE),
              seq: count(r.last_seq, where, 'last_seq'),
              digest: text(r.last_digest, 'last_digest', DIGEST_RE),
            }
          : null;
        insert.run(sid, kind, tNs);
        prune.run(KEEP_SESSIONS);
        return prev;
      }),
    advance: (sid, seq, digest, send) =>
      writeTransaction(c, () => {
        update.run(seq, digest, sid);
        send();
      }),
  };
}
