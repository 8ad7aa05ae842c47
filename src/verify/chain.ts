/**
 * One host's chain of sessions, as the starts tell it: each start names the session before it
 * (its id, last sequence number and last message digest: alert/alerter.ts, store/chain.ts). From
 * the claims it judges a fork (two sessions claiming the same predecessor: a restored database or
 * a cloned host), a missing session (a predecessor never seen, once the log holds a start of this
 * host: it should then be in the log), a chain reset (a first-ever session after others: the
 * database was recreated), and a predecessor whose claimed last message differs from the one the
 * log holds. A claimed last sequence number above what arrived makes the predecessor's missing
 * end a gap (sessions.ts). Memory is bounded (MAX_CLAIMS); the claims are part of the state a
 * verifier keeps across runs. It must not authenticate or count sequence numbers itself.
 */
import { detach } from './detach.js';
import type { Problem } from './problems.js';

export const MAX_CLAIMS = 4096;

/** What a start says about its predecessor. */
export type Claim =
  /** The database's first session. */
  | { readonly kind: 'first' }
  /** The sender's database could not say ('?'), or the start predates the chain. */
  | { readonly kind: 'unknown' }
  | { readonly kind: 'link'; readonly sid: string; readonly seq: number; readonly digest: string };

const SID_RE = /^[0-9a-f]{16}$/;
const SEQ_RE = /^(0|[1-9]\d{0,14})$/;
const DIGEST_RE = /^([0-9a-f]{64})?$/;

/** The claim of a start's parameters; 'unknown' when it has none or they do not parse. */
export function readClaim(ev: ReadonlyMap<string, string>): Claim {
  const prev = ev.get('prev');
  if (prev === '-') return { kind: 'first' };
  const seq = ev.get('prevseq') ?? '';
  const digest = ev.get('prevdig') ?? '';
  if (prev === undefined || !SID_RE.test(prev) || !SEQ_RE.test(seq) || !DIGEST_RE.test(digest))
    return { kind: 'unknown' };
  return { kind: 'link', sid: prev, seq: Number(seq), digest };
}

/** What the chain needs to know about the predecessor a claim names. */
export interface Predecessor {
  /** Digest of its message `seq` when the log held it (and it is still remembered). */
  digestAt(seq: number): string | undefined;
  /** Its highest sequence number seen. */
  readonly highest: number;
}

/** Serializable chain state (see HostChain.snapshot). */
export interface ChainSnapshot {
  claims: [string, string][];
  startsSeen: number;
}

export class HostChain {
  /**
   * Predecessor id → the session that claimed it. Insertion order is age (oldest first). Made on
   * the first claim: a fleet verifier holds one chain per host.
   */
  private claims: Map<string, string> | undefined;
  /** Starts of this host seen (this run and, with --state, earlier ones). */
  startsSeen = 0;

  constructor(readonly host: string) {}

  restore(s: ChainSnapshot): void {
    if (s.claims.length > 0) this.claims = new Map(s.claims);
    this.startsSeen = s.startsSeen;
  }

  snapshot(): ChainSnapshot {
    return { claims: this.claims ? [...this.claims] : [], startsSeen: this.startsSeen };
  }

  /**
   * Judges the start of session `sid` (at `line`) claiming `claim`. `lookup` finds the
   * predecessor: a remembered session, 'known' for one seen and forgotten, or undefined. Returns
   * the problems and the sequence number the predecessor must have reached (its end is a gap when
   * it did not arrive), when the claim names one.
   */
  onStart(
    sid: string,
    claim: Claim,
    line: number,
    lookup: (sid: string) => Predecessor | 'known' | undefined,
  ): { problems: Problem[]; reached?: { sid: string; seq: number } } {
    const problems: Problem[] = [];
    const at = { line, host: this.host, sid };
    const hadStarts = this.startsSeen > 0;
    this.startsSeen++;
    if (claim.kind === 'unknown') return { problems };
    if (claim.kind === 'first') {
      if (hadStarts)
        problems.push({
          ...at,
          kind: 'chain-reset',
          detail: `session ${sid} starts a new chain (its database has no earlier session), but this host sent sessions before: its database was deleted, recreated or replaced`,
        });
      return { problems };
    }
    const rival = this.claims?.get(claim.sid);
    if (rival !== undefined && rival !== sid) {
      problems.push({
        ...at,
        kind: 'fork',
        detail: `sessions ${rival} and ${sid} both continue session ${claim.sid}: the database was restored from a copy, or the host (its keys and database) was cloned`,
      });
    } else if (rival === undefined) {
      this.claims ??= new Map();
      this.claims.set(detach(claim.sid), detach(sid));
      if (this.claims.size > MAX_CLAIMS) {
        const oldest = this.claims.keys().next().value;
        if (oldest !== undefined) this.claims.delete(oldest);
      }
    }
    const p = lookup(claim.sid);
    if (p === undefined) {
      // Before this host's first start in the log, the predecessor may predate the log.
      if (hadStarts)
        problems.push({
          ...at,
          kind: 'missing-session',
          detail: `session ${sid} continues session ${claim.sid} (last seq ${claim.seq}), which never reached the log: a whole session was deleted or blocked`,
        });
      return { problems };
    }
    if (p !== 'known' && claim.seq > 0) {
      const d = p.digestAt(claim.seq);
      if (d !== undefined && claim.digest !== '' && d !== claim.digest)
        problems.push({
          ...at,
          kind: 'fork',
          detail: `session ${sid} says session ${claim.sid} ended with another message at seq ${claim.seq} than the log holds: two histories of one session`,
        });
    }
    return { problems, reached: { sid: claim.sid, seq: claim.seq } };
  }
}
