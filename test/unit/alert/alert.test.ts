import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  type AlertEvent,
  CUT_MARKER,
  createAlerter,
  escapeParamValue,
  formatMessage,
  MemoryQueue,
  parseTarget,
  SD_ID_EVENT,
  type SessionChain,
  type Transport,
  unescapeParamValue,
} from '../../../src/alert/index.js';
import { parseDisplay } from '../../../src/display.js';
import { UsageError } from '../../../src/errors.js';
import { generateRawKeyPair, signRaw } from '../../../src/keys/ed25519.js';
import type { EpochSigner, SignerSource } from '../../../src/keys/index.js';
import { parseSyslogLine } from '../../../src/verify/index.js';
import { delay, waitFor } from '../../helpers/wait.js';

/** An in-memory signer: no files, epoch 0 forever. */
function fakeSigner(): SignerSource & { signer: EpochSigner } {
  const kp = generateRawKeyPair();
  const signer: EpochSigner = {
    host: 'h',
    epoch: 0,
    startMs: 0,
    endMs: Number.MAX_SAFE_INTEGER,
    publicKey: kp.pub,
    certificate: Buffer.alloc(64, 1),
    sign: (d) => signRaw(kp.privateKey, d),
  };
  return { host: 'h', signer, currentSigner: () => signer };
}

function capture(): Transport & { msgs: Buffer[] } {
  const msgs: Buffer[] = [];
  return {
    msgs,
    send: (m) => msgs.push(m),
    close: async () => {},
    stats: () => ({ sent: msgs.length, errors: 0, connects: 0, connected: true }),
  };
}

const ctx = (signer: EpochSigner, seq = 1) => ({
  host: 'h',
  app: 'fim',
  procId: '1',
  facility: 10,
  sessionId: '0123456789abcdef',
  seq,
  timeNs: 1_700_000_000_000_000_000n,
  signer,
});

function finding(path: Uint8Array): AlertEvent {
  return {
    type: 'finding',
    kind: 'changed',
    path,
    rule: 'code',
    severity: 'high',
    attributes: ['content', 'mtime'],
    journalId: 42,
  };
}

describe('SD-PARAM escaping', () => {
  test('round-trips any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const e = escapeParamValue(s);
        expect(unescapeParamValue(e)).toBe(s);
        // No unescaped quote or ] is left to end the value early.
        expect(/(^|[^\\])(\\\\)*["\]]/.test(e)).toBe(false);
      }),
    );
  });

  test.each([
    ['a"b', 'a\\"b'],
    ['a\\b', 'a\\\\b'],
    ['a]b', 'a\\]b'],
    ['plain', 'plain'],
  ])('%s -> %s', (raw, escaped) => {
    expect(escapeParamValue(raw)).toBe(escaped);
  });
});

describe('formatMessage', () => {
  const { signer } = fakeSigner();

  test('any path bytes give one line of at most 2048 bytes whose path decodes to the original', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), (bytes) => {
        const msg = formatMessage(finding(bytes), ctx(signer));
        expect(msg.length).toBeLessThanOrEqual(2048);
        const text = msg.toString('utf8');
        expect(/[\x00-\x1f\x7f]/.test(text)).toBe(false);
        const parsed = parseSyslogLine(text);
        expect(parsed).not.toBeNull();
        const ev = new Map(parsed!.sd.find((e) => e.id === SD_ID_EVENT)!.params);
        if (ev.has('cut')) return;
        expect(parseDisplay(ev.get('path')!).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  test('a long path is cut with a marker and names the journal id', () => {
    const path = Buffer.from(`/srv/${'d\\"]'.repeat(2000)}/x.py`);
    const msg = formatMessage(finding(path), ctx(signer));
    expect(msg.length).toBeLessThanOrEqual(2048);
    const parsed = parseSyslogLine(msg.toString('utf8'))!;
    const ev = new Map(parsed.sd.find((e) => e.id === SD_ID_EVENT)!.params);
    expect(ev.get('cut')).toBe('path');
    expect(ev.get('path')!.endsWith(CUT_MARKER)).toBe(true);
    expect(ev.get('jid')).toBe('42');
    expect(parsed.msg).toContain('journal=42');
  });

  test('who (a hostile exe and command line) is escaped, cut first, and names the journal id', () => {
    const who = `pid=1 exe=/tmp/x"] fake="1 cmd=${'A'.repeat(3000)}`;
    const msg = formatMessage({ ...finding(Buffer.from('/srv/app/x.py')), who } as AlertEvent, ctx(signer));
    expect(msg.length).toBeLessThanOrEqual(2048);
    const parsed = parseSyslogLine(msg.toString('utf8'))!;
    const ev = new Map(parsed.sd.find((e) => e.id === SD_ID_EVENT)!.params);
    expect(ev.get('cut')).toBe('who');
    expect(ev.get('who')!.startsWith('pid=1 exe=/tmp/x"] fake="1 cmd=AAA')).toBe(true);
    expect(ev.get('who')!.endsWith(CUT_MARKER)).toBe(true);
    expect(ev.get('path')).toBe('/srv/app/x.py');
    expect(ev.has('fake')).toBe(false);
    expect(ev.get('jid')).toBe('42');
  });

  test('a path holding a newline, ], " and \\ stays one line and fakes no field', () => {
    const msg = formatMessage(finding(Buffer.from('/etc/x\n<13>1 fake] path="y" \\')), ctx(signer)).toString(
      'utf8',
    );
    expect(msg.split('\n')).toHaveLength(1);
    const parsed = parseSyslogLine(msg)!;
    const ev = new Map(parsed.sd.find((e) => e.id === SD_ID_EVENT)!.params);
    expect(parseDisplay(ev.get('path')!).toString()).toBe('/etc/x\n<13>1 fake] path="y" \\');
    expect(parsed.sd).toHaveLength(2);
  });
});

describe('parseTarget', () => {
  test.each([
    ['udp://logs.internal', { protocol: 'udp', host: 'logs.internal', port: 514 }],
    ['udp://10.0.0.1:5514', { protocol: 'udp', host: '10.0.0.1', port: 5514 }],
    ['tcp://logs:601', { protocol: 'tcp', host: 'logs', port: 601 }],
    ['tls://logs', { protocol: 'tls', host: 'logs', port: 6514 }],
    ['udp://[::1]:514', { protocol: 'udp', host: '::1', port: 514 }],
  ])('%s', (text, want) => {
    expect(parseTarget(text)).toEqual(want);
  });
  test.each(['logs:514', 'http://x', 'udp://x:0', 'udp://x:70000', 'udp://', 'udp://a b'])(
    'rejects %s',
    (text) => {
      expect(() => parseTarget(text)).toThrow(UsageError);
    },
  );
});

describe('alerter', () => {
  test('sequence numbers grow by one; session id is random per alerter', () => {
    const t = capture();
    const src = fakeSigner();
    const a = createAlerter({ target: 'udp://127.0.0.1:9', host: 'h', signer: src, transport: t });
    const b = createAlerter({ target: 'udp://127.0.0.1:9', host: 'h', signer: src, transport: capture() });
    expect(a.sessionId).not.toBe(b.sessionId);
    for (let i = 0; i < 3; i++) a.send({ type: 'heartbeat', baselineRoot: 'aa' });
    const seqs = t.msgs.map((m) => /seq="(\d+)"/.exec(m.toString())![1]);
    // The session's implicit start is seq 1.
    expect(seqs).toEqual(['1', '2', '3', '4']);
    expect(a.stats().seq).toBe(4);
  });

  test('a session is framed: a start (implicit when the caller sends none) and a stop with its count', async () => {
    const t = capture();
    const a = createAlerter({
      target: 'udp://127.0.0.1:9',
      host: 'h',
      signer: fakeSigner(),
      transport: t,
      kind: 'check',
    });
    a.send({ type: 'heartbeat', baselineRoot: 'aa' });
    expect(a.send({ type: 'start', baselineRoot: 'aa', policyHash: 'bb' })).toBe(false); // one start only
    await a.close();
    const texts = t.msgs.map((m) => m.toString());
    expect(texts.map((m) => /ev="(\w+)"/.exec(m)![1])).toEqual(['start', 'heartbeat', 'stop']);
    expect(texts[0]).toContain('kind="check"');
    expect(texts[2]).toContain('count="3"');
    expect(a.send({ type: 'heartbeat', baselineRoot: 'aa' })).toBe(false); // after the stop
  });

  test('with a chain, the start names the predecessor and every message moves the head before it is sent', async () => {
    const t = capture();
    const heads: string[] = [];
    const chain: SessionChain = {
      open: (sid, kind) => {
        heads.push(`open ${sid} ${kind}`);
        return { sid: 'ab'.repeat(8), seq: 7, digest: 'cd'.repeat(32) };
      },
      advance: (_sid, seq, digest, send) => {
        heads.push(`advance ${seq} ${digest.length}`);
        const before = t.msgs.length;
        send();
        expect(t.msgs.length).toBe(before + 1);
      },
    };
    const a = createAlerter({
      target: 'udp://127.0.0.1:9',
      host: 'h',
      signer: fakeSigner(),
      transport: t,
      kind: 'watch',
      chain,
    });
    a.send({ type: 'start', baselineRoot: 'aa', policyHash: 'bb' });
    await a.close();
    const start = t.msgs[0]!.toString();
    expect(start).toContain(`prev="${'ab'.repeat(8)}" prevseq="7" prevdig="${'cd'.repeat(32)}"`);
    expect(heads).toEqual([`open ${a.sessionId} watch`, 'advance 1 64', 'advance 2 64']);
  });

  test('pacing holds back findings beyond maxPerSecond and sends one flood summary with counts', async () => {
    const t = capture();
    let nowMs = 1_000_000;
    const a = createAlerter({
      target: 'udp://127.0.0.1:9',
      host: 'h',
      signer: fakeSigner(),
      transport: t,
      maxPerSecond: 5,
      now: () => BigInt(nowMs) * 1_000_000n,
    });
    for (let i = 0; i < 12; i++) a.send({ ...finding(Buffer.from(`/f${i}`)), journalId: i } as AlertEvent);
    a.send({
      type: 'summary',
      baselineRoot: 'aa',
      counts: { scanned: 1, added: 0, removed: 0, changed: 12, errors: 0 },
    });
    expect(t.msgs).toHaveLength(7); // the start, 5 findings + the summary, never held back
    nowMs += 1000;
    a.send({ type: 'heartbeat', baselineRoot: 'aa' });
    const texts = t.msgs.map((m) => m.toString());
    const flood = texts.find((m) => m.includes('ev="flood"'))!;
    expect(flood).toContain('suppressed="7"');
    expect(flood).toContain('findings="7"');
    expect(flood).toContain('jidfirst="5"');
    expect(flood).toContain('jidlast="11"');
    const seqs = texts.map((m) => Number(/seq="(\d+)"/.exec(m)![1]));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // held-back messages use no seq: no false gaps
    expect(a.stats()).toMatchObject({ suppressed: 7, floods: 1 });
    await a.close();
  });

  test('UDP to a port where nothing listens never throws', async () => {
    const a = createAlerter({ target: 'udp://127.0.0.1:1', host: 'h', signer: fakeSigner() });
    for (let i = 0; i < 20; i++) expect(a.send({ type: 'heartbeat', baselineRoot: null })).toBe(true);
    await a.close(1000);
    const b = createAlerter({ target: 'udp://no-such-host.invalid:514', host: 'h', signer: fakeSigner() });
    b.send({ type: 'heartbeat', baselineRoot: null });
    await b.close(3000);
    expect(b.stats().transport.sent).toBe(0);
  });

  test('a signer failure is counted, not thrown', () => {
    const a = createAlerter({
      target: 'udp://127.0.0.1:1',
      host: 'h',
      transport: capture(),
      signer: {
        host: 'h',
        currentSigner: () => {
          throw new Error('keys expired');
        },
      },
    });
    expect(a.send({ type: 'stop', reason: 'x' })).toBe(false);
    // The implicit start and the stop, neither signed.
    expect(a.stats()).toMatchObject({ signErrors: 2, lastError: 'keys expired', seq: 0 });
  });
});

describe('TCP transport', () => {
  test('RFC 5425 octet counting, queue drained, reconnects after the server drops the connection', async () => {
    const frames: string[] = [];
    let buf = Buffer.alloc(0);
    const sockets: Socket[] = [];
    const server = createServer((s) => {
      sockets.push(s);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const sp = buf.indexOf(0x20);
          if (sp < 0) break;
          const len = Number(buf.subarray(0, sp).toString());
          if (buf.length < sp + 1 + len) break;
          frames.push(buf.subarray(sp + 1, sp + 1 + len).toString());
          buf = buf.subarray(sp + 1 + len);
        }
      });
      s.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const queue = new MemoryQueue(100);
    const a = createAlerter({
      target: `tcp://127.0.0.1:${port}`,
      host: 'h',
      signer: fakeSigner(),
      queue,
      stream: { backoffMinMs: 20, backoffMaxMs: 100 },
    });
    a.send({ type: 'start', baselineRoot: 'aa', policyHash: 'bb' });
    a.send({ type: 'heartbeat', baselineRoot: 'aa' });
    const waitFrames = (n: number) =>
      waitFor(() => frames.length >= n, { what: `${n} frames`, timeoutMs: 5000, intervalMs: 10 }).catch(
        () => false,
      );
    await waitFrames(2);
    expect(frames).toHaveLength(2);
    for (const s of sockets) s.destroy();
    await delay(50); // messages sent while the connection is down are the test's subject
    a.send({ type: 'heartbeat', baselineRoot: 'aa' });
    a.send({ type: 'stop', reason: 'test' });
    await waitFrames(4);
    await a.close(2000);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    expect(frames.at(-1)).toContain('ev="stop"');
    expect(frames.every((f) => f.startsWith('<') && !f.includes('\n'))).toBe(true);
    expect(a.stats().transport.connects).toBeGreaterThanOrEqual(2);
    expect(queue.size).toBe(0);
    server.close();
  });

  test('a refused TCP connection never throws; messages wait in the bounded queue', async () => {
    const queue = new MemoryQueue(3);
    const a = createAlerter({
      target: 'tcp://127.0.0.1:1',
      host: 'h',
      signer: fakeSigner(),
      queue,
      stream: { backoffMinMs: 10, backoffMaxMs: 20 },
    });
    for (let i = 0; i < 5; i++) a.send({ type: 'heartbeat', baselineRoot: null });
    await a.close(200);
    expect(queue.size).toBe(3);
    // The start, five heartbeats and the stop: the oldest four dropped.
    expect(queue.dropped).toBe(4);
    expect(a.stats().transport.errors).toBeGreaterThan(0);
  });
});
