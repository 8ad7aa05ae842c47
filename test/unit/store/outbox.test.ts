/** The outbox of undelivered TCP/TLS alerts (src/store/outbox.ts). */
import { describe, expect, it } from 'vitest';
import { Store } from '../../../src/store/store.js';
import { Sandbox } from '../../helpers/fim.js';

describe('outbox', () => {
  it('gives messages back oldest first until acknowledged, across a reopen', async () => {
    await using sb = new Sandbox('fim-store-outbox-');
    const s = Store.open(sb.db, { create: true });
    const box = s.outbox(100);
    for (const m of ['one', 'two', 'three']) box.push(Buffer.from(m));
    const first = box.peek(2);
    expect(first.map((m) => m.msg.toString())).toEqual(['one', 'two']);
    box.ack(first[0]!.id);
    s.close();
    const reopened = Store.open(sb.db);
    expect(
      reopened
        .outbox(100)
        .peek(10)
        .map((m) => m.msg.toString()),
    ).toEqual(['two', 'three']);
    reopened.close();
  });

  it('keeps at most `limit` messages, dropping the oldest', async () => {
    await using sb = new Sandbox('fim-store-outbox-');
    const s = Store.open(sb.db, { create: true });
    const box = s.outbox(3);
    for (let i = 0; i < 10; i++) box.push(Buffer.from([i, 0xff]));
    expect(box.peek(10).map((m) => m.msg[0])).toEqual([7, 8, 9]);
    s.close();
  });
});
