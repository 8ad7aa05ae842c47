/**
 * Authentication of one fim message on its own (UDP drops datagrams: no message may need another
 * to verify): the seal read once from the line (epoch key, its certificate, the signature and the
 * canonical bytes it covers), the certificate of the epoch key by the host's enrolled master key,
 * the Ed25519 signature, and the message time inside the signing epoch give or take the stated
 * skew (journald's CVE-2023-31439 came from skipping that last check). It owns the per-host counts
 * of each failure and the tally of hosts without an enrolled key. It must not look at sessions,
 * sequence numbers, roots or silence: it says whether a message is authentic, not what it means.
 */
import { canonicalBytes, SD_ID_SIG } from '../alert/sd.js';
import { decodeBase64Strict, ED25519_KEY_BYTES, ED25519_SIG_BYTES, verifyRaw } from '../keys/ed25519.js';
import { checkCertificate, type EnrolledKey, epochBounds, fingerprint } from '../keys/index.js';
import { detach } from './detach.js';
import type { SdElement } from './parse.js';
import { type MessageAt, nsToIso, nsToMs, type Problem } from './problems.js';

/** The design's default: five minutes between a host's clock and the verifier's. */
export const DEFAULT_SKEW_MS = 300_000;
const MAX_UNKNOWN_HOSTS = 100;
const MAX_CACHED_CERTIFICATES = 10_000;
const EP_RE = /^(0|[1-9]\d{0,8})$/;

/** The one Ed25519 check a line needs: `sig` over `data` by the epoch key `pub`. */
export interface SignatureCheck {
  readonly pub: Buffer;
  readonly data: Buffer;
  readonly sig: Buffer;
}

/**
 * A message's seal, extracted once when the line is prepared. `check` is what the signature
 * verdict is about (a driver may compute it on another thread); the texts key the certificate
 * cache; the decoded epoch key is the same one `check` names, so the verdict and the certificate
 * can never be about two different keys.
 */
export interface Seal {
  readonly epkText: string;
  readonly certText: string;
  /** Null when the text is not exactly one base64 key (the key is then uncertified). */
  readonly epk: Buffer | null;
  readonly cert: Buffer | null;
  /** Null when the key or the signature does not decode: a bad signature. */
  readonly check: SignatureCheck | null;
}

/** Parameters of an SD element by name; null when one repeats (the value would be ambiguous). */
export function paramMap(params: ReadonlyArray<readonly [string, string]>): Map<string, string> | null {
  const m = new Map<string, string>();
  for (const [k, v] of params) {
    // A repeated parameter would make "the" value ambiguous between signer and reader.
    if (m.has(k)) return null;
    m.set(k, v);
  }
  return m;
}

/**
 * The seal of a fim message whose event element holds `eventParams`; null when the message is
 * unsigned (no seal element, a repeated parameter in it, or epk, cert or sig missing).
 */
export function readSeal(
  sd: readonly SdElement[],
  eventParams: ReadonlyArray<readonly [string, string]>,
  msg: string,
): Seal | null {
  const el = sd.find((e) => e.id === SD_ID_SIG);
  const sig = el ? paramMap(el.params) : null;
  const epkText = sig?.get('epk');
  const certText = sig?.get('cert');
  const sigText = sig?.get('sig');
  if (epkText === undefined || certText === undefined || sigText === undefined) return null;
  const epk = decodeBase64Strict(epkText, ED25519_KEY_BYTES);
  const cert = decodeBase64Strict(certText, ED25519_SIG_BYTES);
  const sigBuf = decodeBase64Strict(sigText, ED25519_SIG_BYTES);
  let check: SignatureCheck | null = null;
  if (epk && sigBuf) {
    try {
      check = { pub: epk, data: canonicalBytes(eventParams, msg), sig: sigBuf };
    } catch {
      // Defensive: no input may crash the verifier; no check means a bad signature.
      check = null;
    }
  }
  return { epkText, certText, epk, cert, check };
}

/**
 * Refused certificates by (host, master key, epoch, key, certificate): checking one is an Ed25519
 * verify, and a forger may send the same one many times. Good verdicts are kept by each host
 * (HostAuth's memo), so they leave memory with the host. Bounded; cleared when full.
 */
export class CertificateCache {
  private readonly refused = new Set<string>();

  certified(key: EnrolledKey, ep: number, seal: Seal, epk: Buffer, cert: Buffer): boolean {
    // The master key is part of the id: a host may have several, and a verdict is about one.
    const id = `${key.host}|${masterId(key)}|${ep}|${seal.epkText}|${seal.certText}`;
    if (this.refused.has(id)) return false;
    const ok = checkCertificate(key, ep, epk, cert);
    if (ok) return true;
    if (this.refused.size >= MAX_CACHED_CERTIFICATES) this.refused.clear();
    this.refused.add(detach(id));
    return false;
  }
}

/** A certificate a host's key certified: every message of an epoch carries the same one. */
interface CertMemo {
  readonly ep: number;
  readonly epkText: string;
  readonly certText: string;
  readonly key: EnrolledKey;
}

/** Good verdicts a host remembers: the current epoch's, and the previous one's while messages overlap. */
const CERT_MEMOS = 2;

const masterIds = new WeakMap<EnrolledKey, string>();
function masterId(key: EnrolledKey): string {
  let id = masterIds.get(key);
  if (id === undefined) {
    id = key.master.toString('base64');
    masterIds.set(key, id);
  }
  return id;
}

export type SealVerdict =
  | { readonly ok: true; readonly ep: number; readonly key: EnrolledKey }
  | { readonly ok: false; readonly problem: Problem };

/**
 * One enrolled host's authentication: its keys and the counts of each failure. A host may have
 * several enrolled keys (`--pubkey` repeated, or a `--keys` directory): the key sets before and
 * after a `keygen --force`, so a log spanning the change verifies whole. A message is certified
 * when any of them certifies its epoch key; its epoch window is that key's.
 */
export class HostAuth {
  unsigned = 0;
  uncertified = 0;
  badSignature = 0;
  epochMismatch = 0;
  /** Messages signed by a key set after a handover retired it. */
  retiredUse = 0;
  private readonly keys: EnrolledKey[];
  private memo: CertMemo[] = [];
  /** Key sets retired by a handover (master, base64) and when (ms); read by snapshot.ts too. Made on the first. */
  /** @internal */ retired: Map<string, number> | undefined;

  constructor(
    key: EnrolledKey | readonly EnrolledKey[],
    private readonly certs: CertificateCache,
    private readonly skewMs: number,
  ) {
    this.keys = Array.isArray(key) ? [...key] : [key as EnrolledKey];
    if (this.keys.length === 0) throw new Error('HostAuth: no key');
  }

  /** The first enrolled key (they all name the same host). */
  get key(): EnrolledKey {
    return this.keys[0] as EnrolledKey;
  }

  /** Enrol one more key for this host (a later key set). */
  addKey(key: EnrolledKey): void {
    if (!this.keys.some((k) => k.master.equals(key.master))) this.keys.push(key);
  }

  /** A handover at `atMs` retired `key`'s set: what it signs dated later than that (plus the skew) is refused. */
  retire(key: EnrolledKey, atMs: number): void {
    const id = masterId(key);
    this.retired ??= new Map();
    const was = this.retired.get(id);
    if (was === undefined || atMs < was) this.retired.set(id, atMs);
  }

  /**
   * The seal's verdict, checked in this order: present, certified for the epoch `epText` names,
   * signature good. `sigOk` is the verdict of `seal.check` when the caller computed it already.
   */
  checkSeal(epText: string, seal: Seal | null, sigOk: boolean | undefined, line: number): SealVerdict {
    const host = this.key.host;
    if (seal === null) {
      this.unsigned++;
      return {
        ok: false,
        problem: { kind: 'unsigned', line, host, detail: 'fim message without a signature' },
      };
    }
    const ep = EP_RE.test(epText) ? Number(epText) : -1;
    const { epk, cert } = seal;
    const key = epk && cert && ep >= 0 ? this.certifiedBy(ep, seal, epk, cert) : undefined;
    if (!key) {
      this.uncertified++;
      return {
        ok: false,
        problem: {
          kind: 'uncertified',
          line,
          host,
          detail: `the signing key is not certified by the enrolled master key for epoch ${epText.slice(0, 20)}`,
        },
      };
    }
    const check = seal.check;
    const good = check !== null && (sigOk ?? verifyRaw(check.pub, check.data, check.sig));
    if (!good) {
      this.badSignature++;
      return {
        ok: false,
        problem: {
          kind: 'bad-signature',
          line,
          host,
          detail: 'signature does not match: the message was forged or altered',
        },
      };
    }
    return { ok: true, ep, key };
  }

  /** The enrolled key that certifies the seal's epoch key for epoch `ep`, if any. */
  private certifiedBy(ep: number, seal: Seal, epk: Buffer, cert: Buffer): EnrolledKey | undefined {
    const hit = this.memo.find(
      (m) => m.ep === ep && m.epkText === seal.epkText && m.certText === seal.certText,
    );
    if (hit) return hit.key;
    const key = this.keys.find((k) => this.certs.certified(k, ep, seal, epk, cert));
    if (key) {
      const m = { ep, epkText: detach(seal.epkText), certText: detach(seal.certText), key };
      this.memo = [m, ...this.memo].slice(0, CERT_MEMOS);
    }
    return key;
  }

  /**
   * The epoch window: a message dated outside its signing epoch (widened by the skew on both sides)
   * was back-dated, or signed with an old key that should have been erased.
   */
  checkTime(ep: number, tNs: bigint, at: MessageAt, key: EnrolledKey = this.key): Problem | null {
    const bounds = epochBounds(key, ep);
    const tMs = nsToMs(tNs);
    const retiredAt = this.retired?.get(masterId(key));
    if (retiredAt !== undefined && tMs > retiredAt + this.skewMs) {
      this.retiredUse++;
      return {
        kind: 'retired-key',
        line: at.line,
        host: this.key.host,
        sid: at.sid,
        seq: at.seq,
        detail: `signed at ${nsToIso(tNs)} by the key set ${fingerprint(key.master)}, which the host retired by a handover at ${new Date(retiredAt).toISOString()}: someone kept the old keys`,
      };
    }
    if (tMs >= bounds.startMs - this.skewMs && tMs < bounds.endMs + this.skewMs) return null;
    this.epochMismatch++;
    return {
      kind: 'epoch-mismatch',
      line: at.line,
      host: this.key.host,
      sid: at.sid,
      seq: at.seq,
      detail: `message time ${nsToIso(tNs)} is outside epoch ${ep} (${new Date(bounds.startMs).toISOString()} .. ${new Date(bounds.endMs).toISOString()}, skew ${this.skewMs / 1000} s): back-dated, or signed with an old key`,
    };
  }
}

/** Messages claiming hosts without an enrolled key, by name; past MAX_UNKNOWN_HOSTS names, folded. */
export class UnknownHosts {
  private readonly byName = new Map<string, number>();
  private others = 0;

  note(name: string, line: number): Problem {
    const n = this.byName.get(name);
    if (n !== undefined) this.byName.set(name, n + 1);
    else if (this.byName.size < MAX_UNKNOWN_HOSTS) {
      this.byName.set(detach(name), 1);
    } else {
      this.others++;
    }
    return {
      kind: 'unknown-host',
      line,
      detail: `message claims host ${JSON.stringify(name.slice(0, 255))}, which has no enrolled public key`,
    };
  }

  toRecord(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.byName);
    if (this.others > 0) out['(others)'] = this.others;
    return out;
  }
}
