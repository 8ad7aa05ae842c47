/**
 * Preparation of one stored line, without touching any verifier state (so lines may be prepared
 * ahead and their signatures checked on other threads): blank, not RFC 5424, another program's,
 * or a fim message with its event parameters and its seal, each read exactly once. Also the
 * layout of a signed event (version, session id, seq, time). It must not authenticate, count or
 * report anything: the verifier does that when the line is committed, in input order.
 */
import { SD_ID_EVENT, WIRE_VERSION } from '../alert/sd.js';
import { paramMap, readSeal, type Seal, type SignatureCheck } from './auth.js';
import { parseSyslogLine, type SyslogMessage } from './parse.js';

export type ParsedLine =
  | { readonly kind: 'blank' }
  | {
      readonly kind: 'malformed';
      readonly detail: string;
      readonly unsigned?: boolean;
      /** The header's host name, where the line parsed that far (unverified). */
      readonly headerHost?: string;
    }
  | { readonly kind: 'foreign' }
  | {
      readonly kind: 'fim';
      readonly m: SyslogMessage;
      readonly ev: ReadonlyMap<string, string>;
      /** Null: the message carries no (complete) seal. */
      readonly seal: Seal | null;
    };

/**
 * A line parsed without touching the verifier's state. `signature` is what `commit` needs
 * verified; a driver may check it on another thread and pass the verdict to `commit`.
 */
export interface PreparedLine {
  readonly signature: SignatureCheck | null;
  /** @internal */ readonly parsed: ParsedLine;
}

const BLANK: PreparedLine = { signature: null, parsed: { kind: 'blank' } };
const FOREIGN: PreparedLine = { signature: null, parsed: { kind: 'foreign' } };

function malformed(detail: string, unsigned?: true, headerHost?: string): PreparedLine {
  return {
    signature: null,
    parsed: {
      kind: 'malformed',
      detail,
      ...(unsigned ? { unsigned } : {}),
      ...(headerHost && headerHost !== '-' ? { headerHost } : {}),
    },
  };
}

/** Parses one line (without its newline). Never throws. */
export function prepareLine(line: string): PreparedLine {
  if (line.trim() === '') return BLANK;
  let m: SyslogMessage | null;
  try {
    m = parseSyslogLine(line);
  } catch {
    m = null;
  }
  if (!m) return malformed('not an RFC 5424 message', undefined, guessHeaderHost(line));
  const eventEl = m.sd.find((e) => e.id === SD_ID_EVENT);
  if (!eventEl) {
    if (m.appName !== 'fim') return FOREIGN;
    // What a relay that rewrites messages (omfwd's default template) leaves of fim's alerts.
    return malformed(
      'message from app "fim" without fim structured data (a relay that drops structured data, or a forgery)',
      true,
      m.hostname,
    );
  }
  const ev = paramMap(eventEl.params);
  if (!ev) return malformed('repeated parameter in fim structured data', undefined, m.hostname);
  let seal: Seal | null;
  try {
    seal = readSeal(m.sd, eventEl.params, m.msg);
  } catch {
    // Defensive, as in commit: no input may crash the verifier; an unreadable seal is no seal.
    seal = null;
  }
  return { signature: seal?.check ?? null, parsed: { kind: 'fim', m, ev, seal } };
}

/** An RFC 5424 header, or an RFC 3164 one (with or without its PRI, as rsyslog's default file format stores it). */
const HEADER_HOST_RES = [
  /^<\d{1,3}>1 \S{1,64} (\S{1,255}) /,
  /^(?:<\d{1,3}>)?[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d (\S{1,255}) /,
];

/**
 * The host name a line that is not valid RFC 5424 claims, where its start reads as a syslog
 * header, so even that problem names a host to look at (unverified: anyone can claim any name).
 */
export function guessHeaderHost(line: string): string | undefined {
  const head = line.slice(0, 400);
  for (const re of HEADER_HOST_RES) {
    const h = re.exec(head)?.[1];
    if (h !== undefined) return h;
  }
  return undefined;
}

/** The fields every signed event carries, validated. */
export interface EventFields {
  readonly sid: string;
  readonly seq: number;
  readonly tNs: bigint;
  /** The event type; empty when absent. */
  readonly ev: string;
}

const SEQ_RE = /^[1-9]\d{0,14}$/;
const NS_RE = /^\d{1,25}$/;
const SID_RE = /^[0-9a-f]{16}$/;

/** The event's fields; null when it is not this wire version's layout. */
export function eventFields(ev: ReadonlyMap<string, string>): EventFields | null {
  const sid = ev.get('sid') ?? '';
  const seqText = ev.get('seq') ?? '';
  const tText = ev.get('t') ?? '';
  if (ev.get('v') !== WIRE_VERSION || !SID_RE.test(sid) || !SEQ_RE.test(seqText) || !NS_RE.test(tText)) {
    return null;
  }
  return { sid, seq: Number(seqText), tNs: BigInt(tText), ev: ev.get('ev') ?? '' };
}
