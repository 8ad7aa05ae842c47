/**
 * RFC 5424 structured-data details shared by the sender and verify-log: the SD-IDs fim uses,
 * SD-PARAM value escaping (RFC 5424 §6.3.3: `"`, `\` and `]` are escaped with a backslash), the
 * one-line display form of untrusted text, and the canonical bytes that are signed.
 *
 * The signature covers the canonical form of the fim SD element and the MSG, never the header:
 * relays rewrite timestamps and host names, so everything that matters travels inside the signed
 * structured data.
 */
import { createHash } from 'node:crypto';
import { displayBytes } from '../display.js';
import type { Severity } from '../types.js';

/** A summary's parameter for the count of each severity (verify/health.ts reads the same names). */
export const SEVERITY_PARAM: Readonly<Record<Severity, string>> = {
  low: 'sevlow',
  medium: 'sevmedium',
  high: 'sevhigh',
  critical: 'sevcritical',
};

/** 32473 is the private enterprise number reserved for documentation (RFC 5612). */
export const SD_ID_EVENT = 'fim@32473';
export const SD_ID_SIG = 'fimsig@32473';
export const WIRE_VERSION = '1';

/** Escapes an SD-PARAM value: `"`, `\` and `]` get a backslash. */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/**
 * Inverse of escapeParamValue. RFC 5424 says a backslash before any other character is kept as is,
 * so `\x` stays `\x`.
 */
export function unescapeParamValue(escaped: string): string {
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped[i]!;
    const n = escaped[i + 1];
    if (c === '\\' && (n === '"' || n === '\\' || n === ']')) {
      out += n;
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

/** Untrusted text in display form (one line, no control characters). Paths should pass their bytes. */
export function safeText(value: string | Uint8Array): string {
  return displayBytes(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
}

/**
 * The signed bytes: a domain prefix, the event element's parameters sorted by name as
 * `name=JSON(value)` lines (unambiguous whatever the value holds), then the MSG. Parameter values
 * are the unescaped ones, so a relay that re-escapes equivalently does not break the signature.
 */
export function canonicalBytes(params: ReadonlyArray<readonly [string, string]>, msg: string): Buffer {
  const sorted = [...params].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let text = 'fim-alert/1\n';
  for (const [name, value] of sorted) text += `${name}=${JSON.stringify(value)}\n`;
  text += `msg=${JSON.stringify(msg)}\n`;
  return Buffer.from(text, 'utf8');
}

/**
 * The digest of one message: SHA-256 of its canonical (signed) bytes, hex. A session's start names
 * its predecessor's last message by it; the verifier computes it from the stored line, whatever a
 * relay did to the header.
 */
export function messageDigest(canonical: Buffer): string {
  return createHash('sha256').update(canonical).digest('hex');
}
