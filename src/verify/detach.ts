/**
 * Copies of strings read from a line, for what a verifier keeps beyond the line. It knows nothing
 * of messages.
 */

/**
 * A copy of `s` that shares no memory with the line it was read from. V8 makes a substring of 13
 * characters or more a view into its parent, and a line read from a stream is itself a view into
 * readline's 64 KiB chunk: one session id kept per host kept a whole chunk alive (measured: 20 MB of
 * a 10,000-host verifier's 68 MB heap). Everything a verifier keeps beyond the line goes through here.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf16le').toString('utf16le');
}
