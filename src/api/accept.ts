/**
 * `accept()`: take reviewed findings of the latest check into a new signed baseline and announce
 * its root. Returns the new and previous baselines and what was accepted.
 */

import { loadKeyStore, openAlerter, rootSigner, rootVerifier, sendAndClose } from '../evidence.js';
import { type AcceptResult, acceptFindings } from '../ops/accept.js';
import { deployDigestOf } from '../ops/baseline.js';

/** The strength a journaled finding was explained with, for showing what accept took and left. */
export { explainedStrength } from '../ops/accept.js';

import { resolvePathBytes } from '../path-key.js';
import type { Strength } from '../types.js';
import { loadConfig, openStore, type SessionOptions } from './session.js';

export interface AcceptOptions extends SessionOptions {
  /** Paths whose findings to accept (absolute or relative to the working directory; any bytes). */
  paths?: (string | Buffer)[];
  /** Accept every finding of the latest check. */
  all?: boolean;
  /** Accept exactly the findings a manifest explains, at least this strongly. */
  explained?: Strength;
  /** Label of the new baseline. */
  label?: string;
}

export type AcceptOutcome = AcceptResult;

export async function accept(o: AcceptOptions): Promise<AcceptOutcome> {
  const cfg = loadConfig(o);
  const keys = loadKeyStore(cfg, o.warn);
  const sign = rootSigner(keys);
  const store = openStore(cfg);
  try {
    const r = acceptFindings({
      store,
      verifySignature: rootVerifier(cfg, keys),
      ...(sign ? { sign } : {}),
      paths: (o.paths ?? []).map(
        (p) => resolvePathBytes(typeof p === 'string' ? Buffer.from(p, 'utf8') : p) ?? Buffer.from(p),
      ),
      all: o.all ?? false,
      ...(o.explained ? { explained: o.explained } : {}),
      keepBaselines: cfg.baselines.keep,
      ...(o.label ? { label: o.label } : {}),
    });
    await sendAndClose(openAlerter(cfg, keys, store, undefined, 'accept'), [
      {
        type: 'accept',
        root: r.meta.root.toString('hex'),
        accepted: r.accepted.length,
        label: r.meta.label,
        deploy: deployDigestOf(store, r.meta),
      },
    ]);
    return r;
  } finally {
    store.close();
  }
}
