import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CertificateCache,
  DEFAULT_SKEW_MS,
  HostAuth,
  readSeal,
  UnknownHosts,
} from '../../../src/verify/auth.js';
import { parseSyslogLine, type SdElement } from '../../../src/verify/index.js';
import { EPOCH_MS, type HostKeys, makeHostKeys, makeLine, ROOT_A, T0 } from './fixture.js';

let h1: HostKeys;
let h2: HostKeys;
beforeAll(() => {
  h1 = makeHostKeys('h1');
  h2 = makeHostKeys('h2');
});
afterAll(() => {
  h1.cleanup();
  h2.cleanup();
});

const hb = { type: 'heartbeat', baselineRoot: ROOT_A } as const;
const T_MS = T0 + 10 * EPOCH_MS + 30_000;

function parts(line: string): { sd: SdElement[]; ev: Array<[string, string]>; msg: string; ep: string } {
  const m = parseSyslogLine(line)!;
  const ev = m.sd.find((e) => e.id === 'fim@32473')!.params;
  return { sd: m.sd, ev, msg: m.msg, ep: new Map(ev).get('ep')! };
}

function sealOf(line: string) {
  const p = parts(line);
  return { seal: readSeal(p.sd, p.ev, p.msg), ep: p.ep };
}

const auth = (keys: HostKeys, skewMs = DEFAULT_SKEW_MS, cache = new CertificateCache()) =>
  new HostAuth(keys.pub, cache, skewMs);

describe('readSeal: the seal read once', () => {
  test('a complete seal decodes; the key checked is the key certified', () => {
    const { seal } = sealOf(makeLine(h1)(hb, 1, { tMs: T_MS }));
    expect(seal).not.toBeNull();
    expect(seal!.check).not.toBeNull();
    expect(seal!.check!.pub).toBe(seal!.epk);
  });

  test.each([
    ['no seal element', (l: string) => l.replace(/\[fimsig@32473[^\]]*\]/, '')],
    ['no cert', (l: string) => l.replace(/ cert="[^"]*"/, '')],
    ['no epk', (l: string) => l.replace(/ epk="[^"]*"/, '')],
    ['no sig', (l: string) => l.replace(/ sig="[^"]*"/, '')],
    ['a repeated parameter', (l: string) => l.replace(/( sig="[^"]*")/, '$1$1')],
  ])('%s: unsigned (no seal at all)', (_name, mutate) => {
    const line = mutate(makeLine(h1)(hb, 1, { tMs: T_MS }));
    expect(sealOf(line).seal).toBeNull();
  });

  test('a signature that is not exactly 64 bytes of canonical base64 leaves nothing to check', () => {
    const l = makeLine(h1)(hb, 1, { tMs: T_MS });
    const sig = / sig="([^"]+)"/.exec(l)![1]!;
    for (const bad of ['AAAA', `${sig.slice(0, -2)}A=`, `${sig} `, `${sig}\n`]) {
      const { seal } = sealOf(l.replace(sig, bad));
      expect(seal?.check ?? null, bad).toBeNull();
    }
  });
});

describe('HostAuth.checkSeal', () => {
  test('a genuine message passes with its epoch; the verdict handed in is the one used', () => {
    const { seal, ep } = sealOf(makeLine(h1)(hb, 1, { tMs: T_MS }));
    expect(auth(h1).checkSeal(ep, seal, undefined, 1)).toEqual({ ok: true, ep: 10, key: h1.pub });
    const a = auth(h1);
    const v = a.checkSeal(ep, seal, false, 7);
    expect(v.ok ? null : v.problem).toMatchObject({ kind: 'bad-signature', line: 7, host: 'h1' });
    expect(a.badSignature).toBe(1);
  });

  test('an altered event fails the signature, not the certificate', () => {
    const l = makeLine(h1)(hb, 1, { tMs: T_MS }).replace('ev="heartbeat"', 'ev="heartbeaT"');
    const { seal, ep } = sealOf(l);
    const a = auth(h1);
    const v = a.checkSeal(ep, seal, undefined, 1);
    expect(v.ok ? null : v.problem.kind).toBe('bad-signature');
    expect(a).toMatchObject({ badSignature: 1, uncertified: 0 });
  });

  test('the certificate is for the epoch the message names, and for the host checking it', () => {
    const { seal, ep } = sealOf(makeLine(h1)(hb, 1, { tMs: T_MS }));
    const cache = new CertificateCache();
    // Cached as good for (h1, 10) first: the cache must not answer for another epoch or host.
    expect(auth(h1, DEFAULT_SKEW_MS, cache).checkSeal(ep, seal, undefined, 1).ok).toBe(true);
    for (const [keys, epText] of [
      [h1, '11'],
      [h1, '010'],
      [h1, ''],
      [h2, ep],
    ] as const) {
      const a = auth(keys, DEFAULT_SKEW_MS, cache);
      const v = a.checkSeal(epText, seal, true, 1);
      expect(v.ok ? 'ok' : v.problem.kind, `${keys.pub.host} epoch ${epText}`).toBe('uncertified');
      expect(a.uncertified).toBe(1);
    }
  });

  test("another epoch's genuine key and certificate do not certify this epoch", () => {
    const other = sealOf(makeLine(h1)(hb, 1, { tMs: T_MS, epoch: 3 })).seal;
    const v = auth(h1).checkSeal('10', other, true, 1);
    expect(v.ok ? 'ok' : v.problem.kind).toBe('uncertified');
  });

  test('no seal: unsigned, counted', () => {
    const a = auth(h1);
    const v = a.checkSeal('10', null, true, 3);
    expect(v.ok ? null : v.problem).toEqual({
      kind: 'unsigned',
      line: 3,
      host: 'h1',
      detail: 'fim message without a signature',
    });
    expect(a.unsigned).toBe(1);
  });
});

describe('HostAuth.checkTime: the epoch window, widened by the skew on both sides', () => {
  const SKEW = 1000;
  const start = T0 + 10 * EPOCH_MS;
  const end = start + EPOCH_MS;
  const at = { line: 1, sid: '00000000000000aa', seq: 1 };
  const ns = (ms: number) => BigInt(ms) * 1_000_000n;

  test.each([
    [start - SKEW - 1, false],
    [start - SKEW, true],
    [start, true],
    [end - 1, true],
    [end + SKEW - 1, true],
    [end + SKEW, false],
    [T0, false],
  ])('t = %i: inside %s', (tMs, inside) => {
    const a = auth(h1, SKEW);
    expect(a.checkTime(10, ns(tMs), at) === null).toBe(inside);
    expect(a.epochMismatch).toBe(inside ? 0 : 1);
  });

  test('the problem names the message and the window', () => {
    const p = auth(h1, SKEW).checkTime(10, ns(T0), at);
    expect(p).toMatchObject({ kind: 'epoch-mismatch', host: 'h1', ...at });
    expect(p?.detail).toContain(
      'outside epoch 10 (2026-01-01T12:10:00.000Z .. 2026-01-01T12:11:00.000Z, skew 1 s)',
    );
  });
});

describe('UnknownHosts', () => {
  test('counted by name, the rest folded past 100 names; each message is a problem', () => {
    const u = new UnknownHosts();
    for (let i = 0; i < 102; i++) u.note(`ghost-${i}`, i + 1);
    expect(u.note('ghost-0', 200)).toMatchObject({ kind: 'unknown-host', line: 200 });
    const r = u.toRecord();
    expect(Object.keys(r)).toHaveLength(101);
    expect(r['ghost-0']).toBe(2);
    expect(r['(others)']).toBe(2);
    expect(r['ghost-101']).toBeUndefined();
  });

  test('a hostile name is quoted and cut in the detail', () => {
    const p = new UnknownHosts().note(`x\n${'y'.repeat(400)}`, 1);
    expect(p.detail).toContain('"x\\ny');
    expect(p.detail.length).toBeLessThan(400);
  });
});

describe('several enrolled keys for one host (before and after keygen --force)', () => {
  test('each key set certifies its own messages; a cached verdict for one key is not reused for another', () => {
    const older = makeHostKeys('h1');
    try {
      const newLine = makeLine(h1)(hb, 1, { tMs: T_MS });
      const oldLine = makeLine(older)(hb, 7, { tMs: T_MS });
      const cache = new CertificateCache();
      const one = new HostAuth(h1.pub, cache, DEFAULT_SKEW_MS);
      const s = sealOf(oldLine);
      // With only the new key: the old key set's message is uncertified (and that verdict is cached).
      const before = one.checkSeal(s.ep, s.seal, undefined, 1);
      expect(before.ok ? 'ok' : before.problem.kind).toBe('uncertified');
      // Both enrolled, sharing that cache: both verify, each with its own key's epoch window.
      const both = new HostAuth([h1.pub, older.pub], cache, DEFAULT_SKEW_MS);
      for (const line of [newLine, oldLine]) {
        const x = sealOf(line);
        const v = both.checkSeal(x.ep, x.seal, undefined, 1);
        expect(v.ok).toBe(true);
      }
      const v = both.checkSeal(s.ep, s.seal, undefined, 1);
      expect(v.ok && v.key.master.equals(older.pub.master)).toBe(true);
    } finally {
      older.cleanup();
    }
  });
});
