/**
 * A strict, allocation-light parser for one RFC 5424 line, as rsyslog's
 * `RSYSLOG_SyslogProtocol23Format` writes it (`<PRI>1 TS HOST APP PROCID MSGID SD MSG`), or a raw
 * line, optionally with an RFC 5425 octet-count prefix. It never throws: anything it does not
 * understand is `null`, and the caller counts the line as malformed. It must not interpret what
 * it parses (fim's SD-IDs, signatures): that is line.ts and auth.ts.
 */
import { unescapeParamValue } from '../alert/sd.js';

export interface SdElement {
  id: string;
  /** Parameters in order, values unescaped. */
  params: Array<[string, string]>;
}

export interface SyslogMessage {
  pri: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: SdElement[];
  msg: string;
}

/** SD-NAME: 1..32 printable US-ASCII except `=`, space, `]` and `"`. */
function isNameChar(c: number): boolean {
  return c > 32 && c < 127 && c !== 61 && c !== 93 && c !== 34;
}

/** Reads a header field up to the next space; returns [value, index after the space] or null. */
function field(line: string, i: number, max: number): [string, number] | null {
  const sp = line.indexOf(' ', i);
  if (sp <= i || sp - i > max) return null;
  for (let k = i; k < sp; k++) {
    const c = line.charCodeAt(k);
    if (c < 33 || c > 126) return null;
  }
  return [line.slice(i, sp), sp + 1];
}

function parseSd(line: string, start: number): [SdElement[], number] | null {
  if (line[start] === '-') return [[], start + 1];
  const out: SdElement[] = [];
  let i = start;
  while (line[i] === '[') {
    i++;
    const idStart = i;
    while (i < line.length && isNameChar(line.charCodeAt(i))) i++;
    if (i === idStart || i - idStart > 32) return null;
    const el: SdElement = { id: line.slice(idStart, i), params: [] };
    for (;;) {
      const c = line[i];
      if (c === ']') {
        i++;
        break;
      }
      if (c !== ' ') return null;
      i++;
      const nameStart = i;
      while (i < line.length && isNameChar(line.charCodeAt(i))) i++;
      if (i === nameStart || i - nameStart > 32) return null;
      const name = line.slice(nameStart, i);
      if (line[i] !== '=' || line[i + 1] !== '"') return null;
      i += 2;
      const valueStart = i;
      let escaped = false;
      while (i < line.length) {
        const ch = line.charCodeAt(i);
        if (ch === 92) {
          escaped = true;
          i += 2;
          continue;
        }
        if (ch === 34) break;
        i++;
      }
      if (i >= line.length) return null;
      const raw = line.slice(valueStart, i);
      el.params.push([name, escaped ? unescapeParamValue(raw) : raw]);
      i++;
    }
    // RFC 5424 §6.3.2: an SD-ID appears at most once. Two copies would let a relay or an intruder
    // put an unsigned element before the signed one: the message is malformed, whichever is first.
    if (out.some((e) => e.id === el.id)) return null;
    out.push(el);
  }
  return out.length > 0 ? [out, i] : null;
}

/** Parses one line (without its newline). Returns null when it is not an RFC 5424 message. */
export function parseSyslogLine(input: string): SyslogMessage | null {
  let line = input;
  if (line.endsWith('\r')) line = line.slice(0, -1);
  // A raw capture of a TCP stream may keep the RFC 5425 octet count in front.
  const oc = /^\d{1,5} </.exec(line);
  if (oc) line = line.slice(oc[0].length - 1);
  if (line.charCodeAt(0) !== 60) return null;
  const close = line.indexOf('>', 1);
  if (close < 2 || close > 4) return null;
  const priText = line.slice(1, close);
  if (!/^(0|[1-9]\d{0,2})$/.test(priText)) return null;
  const pri = Number(priText);
  if (pri > 191) return null;
  if (line[close + 1] !== '1' || line[close + 2] !== ' ') return null;
  let i = close + 3;
  const ts = field(line, i, 64);
  if (!ts) return null;
  i = ts[1];
  const host = field(line, i, 255);
  if (!host) return null;
  i = host[1];
  const app = field(line, i, 48);
  if (!app) return null;
  i = app[1];
  const proc = field(line, i, 128);
  if (!proc) return null;
  i = proc[1];
  const msgId = field(line, i, 32);
  if (!msgId) return null;
  i = msgId[1];
  const sd = parseSd(line, i);
  if (!sd) return null;
  i = sd[1];
  let msg = '';
  if (i < line.length) {
    if (line[i] !== ' ') return null;
    msg = line.slice(i + 1);
  }
  // A UTF-8 BOM marks MSG as UTF-8 (RFC 5424 §6.4); it is not part of the text.
  if (msg.charCodeAt(0) === 0xfeff) msg = msg.slice(1);
  return {
    pri,
    timestamp: ts[0],
    hostname: host[0],
    appName: app[0],
    procId: proc[0],
    msgId: msgId[0],
    sd: sd[0],
    msg,
  };
}
