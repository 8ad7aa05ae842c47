/**
 * The RFC 5424 formatter: one event becomes one signed message of at most 2048 bytes (RFC 5426).
 *
 *   <PRI>1 TIMESTAMP HOST APP PROCID EVENT [fim@32473 v="1" host=.. app=.. sid=.. seq=.. t=.. ep=.. ev=.. ...]
 *     [fimsig@32473 epk=.. cert=.. sig=..] MSG
 *
 * Untrusted text is put in display form first (no newline or control character can be emitted),
 * then SD-escaped. Values too long for the limit are cut at an escape boundary and end with
 * CUT_MARKER; the `cut` parameter names the cut fields and `jid` names the journal record that
 * keeps the full finding. The signature is computed last, over canonicalBytes (see sd.ts).
 */
import type { EpochSigner } from '../keys/index.js';
import { type Params, parts } from './event-parts.js';
import type { WireEvent } from './events.js';
import {
  canonicalBytes,
  escapeParamValue,
  messageDigest,
  SD_ID_EVENT,
  SD_ID_SIG,
  safeText,
  WIRE_VERSION,
} from './sd.js';

export const MAX_MESSAGE_BYTES = 2048;
export const CUT_MARKER = '[...cut]';

export const FACILITIES = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;
export type Facility = keyof typeof FACILITIES;

export function isFacility(name: string): name is Facility {
  return Object.hasOwn(FACILITIES, name);
}

const SEVERITY_LEVEL = { critical: 2, high: 3, medium: 4, low: 5 } as const;

function syslogSeverity(ev: WireEvent): number {
  if (ev.type === 'finding') return SEVERITY_LEVEL[ev.severity];
  if (ev.type === 'error') return 3;
  if (ev.type === 'reload') return ev.critical ? 2 : 5;
  if (ev.type === 'flood' || ev.type === 'pause') return 4;
  if (ev.type === 'handover') return 5;
  return 6;
}

export interface MessageContext {
  host: string;
  app: string;
  procId: string;
  facility: number;
  sessionId: string;
  seq: number;
  timeNs: bigint;
  signer: EpochSigner;
  maxBytes?: number;
}

/** RFC 5424 TIMESTAMP: RFC 3339 UTC with microseconds (at most six fraction digits). */
export function rfc5424Time(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const micros = ((ns / 1000n) % 1_000_000n).toString().padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${micros}Z`;
}

/** Header fields must be PRINTUSASCII without spaces; anything else becomes `_` (the header is unsigned). */
function headerField(value: string, max: number): string {
  const v = value.replace(/[^!-~]/g, '_').slice(0, max);
  return v === '' ? '-' : v;
}

/**
 * Splits display text into atoms that must not be separated: an escape (`\\`, `\n`, `\xHH`...) or
 * one code point. Cutting between atoms keeps the cut value a valid display form.
 */
function atoms(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    if (text[i] === '\\') {
      const len = text[i + 1] === 'x' ? 4 : 2;
      out.push(text.slice(i, i + len));
      i += len;
    } else {
      const cp = text.codePointAt(i)!;
      const len = cp > 0xffff ? 2 : 1;
      out.push(text.slice(i, i + len));
      i += len;
    }
  }
  return out;
}

/** Cuts display text to at most `maxBytes` UTF-8 bytes including the marker. */
export function cutDisplay(text: string, maxBytes: number): string {
  const budget = maxBytes - CUT_MARKER.length;
  let out = '';
  let used = 0;
  for (const a of atoms(text)) {
    const n = Buffer.byteLength(a, 'utf8');
    if (used + n > budget) break;
    out += a;
    used += n;
  }
  return out + CUT_MARKER;
}

function renderSd(id: string, params: Params): string {
  return `[${id}${params.map(([k, v]) => ` ${k}="${escapeParamValue(v)}"`).join('')}]`;
}

/** Signature element with fixed-size fields: its length does not depend on the signature value. */
function renderSig(signer: EpochSigner, sig: Buffer): string {
  return renderSd(SD_ID_SIG, [
    ['epk', signer.publicKey.toString('base64')],
    ['cert', signer.certificate.toString('base64')],
    ['sig', sig.toString('base64')],
  ]);
}

/** Formats and signs one event. The result is a single line of at most `maxBytes` bytes. */
export function formatMessage(ev: WireEvent, ctx: MessageContext): Buffer {
  return formatSealed(ev, ctx).line;
}

/** A signed message and its digest (what the next session's start names as its predecessor's last). */
export interface SealedMessage {
  line: Buffer;
  digest: string;
}

/** As formatMessage, with the digest of the signed bytes. */
export function formatSealed(ev: WireEvent, ctx: MessageContext): SealedMessage {
  const maxBytes = ctx.maxBytes ?? MAX_MESSAGE_BYTES;
  const p = parts(ev);
  const pri = ctx.facility * 8 + syslogSeverity(ev);
  const header = `<${pri}>1 ${rfc5424Time(ctx.timeNs)} ${headerField(ctx.host, 255)} ${headerField(ctx.app, 48)} ${headerField(ctx.procId, 128)} ${ev.type}`;
  const common: Params = [
    ['v', WIRE_VERSION],
    ['host', safeText(ctx.host)],
    ['app', safeText(ctx.app)],
    ['sid', ctx.sessionId],
    ['seq', String(ctx.seq)],
    ['t', ctx.timeNs.toString()],
    ['ep', String(ctx.signer.epoch)],
    ['ev', ev.type],
  ];
  const sigLen = Buffer.byteLength(renderSig(ctx.signer, Buffer.alloc(64)), 'utf8');
  const values = new Map(p.cuttable);
  const cut: string[] = [];

  const build = (): { params: Params; msg: string; bytes: number } => {
    const params: Params = [...common, ...p.fixed];
    for (const [k] of p.cuttable) params.push([k, values.get(k)!]);
    if (cut.length > 0) params.push(['cut', cut.join(',')]);
    // rsyslog may trim trailing spaces of MSG; never end with one, so what is signed is what is stored.
    const msg = p.msg(values).replace(/ +$/, '');
    const bytes =
      Buffer.byteLength(header, 'utf8') +
      1 +
      Buffer.byteLength(renderSd(SD_ID_EVENT, params), 'utf8') +
      sigLen +
      1 +
      Buffer.byteLength(msg, 'utf8');
    return { params, msg, bytes };
  };

  let draft = build();
  // Each round cuts the longest cuttable value by about the excess; values appear in the SD and in
  // the MSG, so a few rounds settle it. Bounded, so a pathological event cannot loop.
  for (let round = 0; draft.bytes > maxBytes && round < 40; round++) {
    let longest: string | undefined;
    let longestLen = 0;
    for (const [k, v] of values) {
      const len = Buffer.byteLength(v, 'utf8');
      if (len > longestLen && len > CUT_MARKER.length) {
        longest = k;
        longestLen = len;
      }
    }
    if (longest === undefined) break;
    const excess = draft.bytes - maxBytes;
    const value = values.get(longest)!;
    const base =
      value.endsWith(CUT_MARKER) && cut.includes(longest) ? value.slice(0, -CUT_MARKER.length) : value;
    const target = Math.max(CUT_MARKER.length, longestLen - Math.ceil(excess / 2) - 4);
    values.set(longest, cutDisplay(base, target));
    if (!cut.includes(longest)) cut.push(longest);
    draft = build();
  }
  if (draft.bytes > maxBytes) {
    // Only fixed fields are left and they are bounded by the caller (hashes, counts); say so loudly.
    throw new RangeError(`alert of type ${ev.type} cannot fit in ${maxBytes} bytes`);
  }
  const signed = canonicalBytes(draft.params, draft.msg);
  const sig = ctx.signer.sign(signed);
  const line = `${header} ${renderSd(SD_ID_EVENT, draft.params)}${renderSig(ctx.signer, sig)} ${draft.msg}`;
  return { line: Buffer.from(line, 'utf8'), digest: messageDigest(signed) };
}
