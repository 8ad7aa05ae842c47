/** The chain of alert sessions (src/store/chain.ts): one line of sessions, heads moved with what is sent. */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { CorruptRowError } from '../../../src/errors.js';
import { Store } from '../../../src/store/store.js';
import { Sandbox } from '../../helpers/fim.js';

const sid = (n: number) => n.toString(16).padStart(16, '0');
const dig = (c: string) => c.repeat(64);

describe('session chain', () => {
  it('a new session learns the newest one before it, across a reopen and between two connections', async () => {
    await using sb = new Sandbox('fim-store-chain-');
    const a = Store.open(sb.db, { create: true });
    const b = Store.open(sb.db);
    expect(a.sessionChain().open(sid(1), 'watch', 1n)).toBeNull();
    a.sessionChain().advance(sid(1), 1, dig('a'), () => {});
    // A check beside the daemon: it continues the daemon's session as it stands now.
    expect(b.sessionChain().open(sid(2), 'check', 2n)).toEqual({ sid: sid(1), seq: 1, digest: dig('a') });
    a.sessionChain().advance(sid(1), 2, dig('b'), () => {});
    a.close();
    b.close();
    const c = Store.open(sb.db);
    expect(c.sessionChain().open(sid(3), 'check', 3n)).toEqual({ sid: sid(2), seq: 0, digest: '' });
    c.close();
  });

  it('the head moves in the transaction that sends: a failed send leaves it where it was', async () => {
    await using sb = new Sandbox('fim-store-chain-');
    const s = Store.open(sb.db, { create: true });
    const chain = s.sessionChain();
    chain.open(sid(1), 'check', 1n);
    chain.advance(sid(1), 1, dig('a'), () => {});
    expect(() =>
      chain.advance(sid(1), 2, dig('b'), () => {
        throw new Error('outbox full');
      }),
    ).toThrow('outbox full');
    expect(chain.open(sid(2), 'check', 2n)).toEqual({ sid: sid(1), seq: 1, digest: dig('a') });
    s.close();
  });

  it('keeps only the newest sessions, and an edited row is a CorruptRowError naming the table', async () => {
    await using sb = new Sandbox('fim-store-chain-');
    const s = Store.open(sb.db, { create: true });
    for (let i = 1; i <= 100; i++) s.sessionChain().open(sid(i), 'check', BigInt(i));
    const raw = new Database(sb.db);
    expect(raw.prepare('SELECT count(*) AS n FROM alert_session').get()).toEqual({ n: 32 });
    raw.prepare("UPDATE alert_session SET last_digest = 'x' WHERE sid = ?").run(sid(100));
    raw.close();
    const err = (() => {
      try {
        s.sessionChain().open(sid(101), 'check', 101n);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CorruptRowError);
    expect((err as Error).message).toContain('alert_session');
    s.close();
  });
});
