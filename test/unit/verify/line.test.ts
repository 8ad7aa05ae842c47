import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { createVerifier, parseSyslogLine } from '../../../src/verify/index.js';
import { eventFields, prepareLine } from '../../../src/verify/line.js';
import { EPOCH_MS, type HostKeys, makeHostKeys, makeLine, ROOT_A, T0 } from './fixture.js';

let keys: HostKeys;
beforeAll(() => {
  keys = makeHostKeys();
});
afterAll(() => keys.cleanup());

const hb = { type: 'heartbeat', baselineRoot: ROOT_A } as const;
const T_MS = T0 + 10 * EPOCH_MS;

describe('prepareLine', () => {
  test.each([
    ['', 'blank'],
    ['   ', 'blank'],
    ['garbage', 'malformed'],
    ['<14>1 - host other - - - hello', 'foreign'],
    ['<14>1 - host fim - - - hello', 'malformed'],
    ['<14>1 - host fim - - [fim@32473 v="1" v="1"] x', 'malformed'],
  ])('%j is %s', (line, kind) => {
    const p = prepareLine(line);
    expect(p.parsed.kind).toBe(kind);
    expect(p.signature).toBeNull();
  });

  test('a fim line without fim data is reported as unsigned, another program never', () => {
    const p = prepareLine('<14>1 - host fim - - - hello').parsed;
    expect(p.kind === 'malformed' && p.unsigned).toBe(true);
  });

  test('one extraction: the signature to check is the seal the certificate is checked with', () => {
    const p = prepareLine(makeLine(keys)(hb, 1, { tMs: T_MS }));
    expect(p.parsed.kind).toBe('fim');
    if (p.parsed.kind !== 'fim') return;
    expect(p.signature).not.toBeNull();
    expect(p.signature).toBe(p.parsed.seal?.check);
    expect(p.signature?.pub).toBe(p.parsed.seal?.epk);
  });

  test('an unsigned fim line asks for no signature check (nothing sent to the thread pool)', () => {
    const l = makeLine(keys)(hb, 1, { tMs: T_MS }).replace(/ cert="[^"]*"/, '');
    const p = prepareLine(l);
    expect(p.signature).toBeNull();
    expect(p.parsed.kind === 'fim' && p.parsed.seal).toBeNull();
  });

  test('pure: preparing every line ahead, then committing in order, equals feeding them one by one', () => {
    const line = makeLine(keys);
    const lines = [
      line({ type: 'baseline', root: ROOT_A }, 1, { tMs: T_MS }),
      line(hb, 3, { tMs: T_MS + 1 }),
      line(hb, 3, { tMs: T_MS + 1 }),
      line(hb, 4, { tMs: T_MS + 2 }).replace('ev="heartbeat"', 'ev="heartbeaT"'),
      'garbage',
    ];
    const one = createVerifier({ pubkeys: [keys.pub], maxSilenceMs: 0, now: () => T_MS });
    const fed = lines.flatMap((l) => one.feedLine(l));
    const two = createVerifier({ pubkeys: [keys.pub], maxSilenceMs: 0, now: () => T_MS });
    const prepared = lines.map((l) => two.prepare(l));
    const committed = prepared.flatMap((p) => two.commit(p));
    expect(committed).toEqual(fed);
    expect(two.finish()).toEqual(one.finish());
  });
});

describe('eventFields: the signed layout', () => {
  const good = { v: '1', sid: '00000000000000aa', seq: '7', t: '1767269400000000000', ev: 'heartbeat' };
  const fields = (over: Record<string, string | undefined>) => {
    const m = new Map<string, string>();
    for (const [k, v] of Object.entries({ ...good, ...over })) if (v !== undefined) m.set(k, v);
    return eventFields(m);
  };

  test('the layout of this wire version', () => {
    expect(fields({})).toEqual({ sid: good.sid, seq: 7, tNs: 1_767_269_400_000_000_000n, ev: 'heartbeat' });
    expect(fields({ ev: undefined })?.ev).toBe('');
  });

  test.each([
    ['another version', { v: '2' }],
    ['no version', { v: undefined }],
    ['a short session id', { sid: '00aa' }],
    ['an upper-case session id', { sid: '00000000000000AA' }],
    ['seq 0 (sessions count from 1)', { seq: '0' }],
    ['seq with a leading zero', { seq: '07' }],
    ['seq beyond 15 digits', { seq: '1234567890123456' }],
    ['a signed seq', { seq: '+7' }],
    ['a time that is not digits', { t: '1.5e18' }],
    ['no time', { t: undefined }],
  ])('%s is not our layout', (_name, over) => {
    expect(fields(over)).toBeNull();
  });
});

describe('parseSyslogLine: a repeated SD-ID', () => {
  it('is malformed (RFC 5424 §6.3.2), whichever copy comes first', () => {
    const head = '<14>1 2026-01-01T12:00:00Z host fim - finding ';
    const one = '[fim@32473 v="1" host="h1"]';
    const other = '[fimsig@32473 sig="x"]';
    expect(parseSyslogLine(`${head}${one}${other} msg`)).not.toBeNull();
    expect(parseSyslogLine(`${head}${one}${one}${other} msg`)).toBeNull();
    expect(parseSyslogLine(`${head}${one}${other}[fim@32473 v="1" host="evil"] msg`)).toBeNull();
  });
});
