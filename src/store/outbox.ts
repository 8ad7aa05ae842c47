/**
 * The outbox: alerts for a TCP or TLS log server that are not yet delivered, oldest first, bounded
 * (the oldest are dropped past the limit, so a log server that stays down cannot fill the disk).
 *
 * It stores opaque messages (checked to be ids and blobs as they are read back); it must not
 * format, sign or send them: src/alert does.
 */
import type { Connection } from './db.js';
import { blob, id, type Row, type Where } from './row-check.js';

export interface Outbox {
  push(msg: Buffer): void;
  peek(n: number): { id: number; msg: Buffer }[];
  ack(id: number): void;
}

/** The outbox of a database, keeping at most `limit` messages. */
export function openOutbox(c: Connection, limit: number): Outbox {
  const where: Where = { file: c.file, table: 'outbox' };
  const push = c.db.prepare('INSERT INTO outbox (msg) VALUES (?)');
  const peek = c.db.prepare('SELECT id, msg FROM outbox ORDER BY id LIMIT ?');
  const ack = c.db.prepare('DELETE FROM outbox WHERE id = ?');
  const trim = c.db.prepare('DELETE FROM outbox WHERE id <= (SELECT max(id) FROM outbox) - ?');
  return {
    push: (msg) => {
      push.run(msg);
      trim.run(limit);
    },
    peek: (n) =>
      (peek.all(n) as Row[]).map((r) => {
        const at = typeof r.id === 'bigint' ? r.id : undefined;
        return { id: id(r.id, where, 'id'), msg: blob(r.msg, where, 'msg', at) };
      }),
    ack: (msgId) => {
      ack.run(msgId);
    },
  };
}
