/**
 * The daemon's first check of its baseline (root and signature). A baseline refused at start is
 * evidence too: the log server hears it, signed, before the daemon exits with 18.
 */
import type { Alerter } from '../alert/index.js';
import { FimError } from '../errors.js';
import { type RootVerifier, verifyBaseline } from '../ops/baseline.js';
import type { BaselineMeta, Store } from '../store/store.js';
import { type Logger, Pri } from './log.js';

export async function verifyAtStart(
  store: Store,
  baseline: BaselineMeta,
  verifySignature: RootVerifier,
  alerter: Alerter | null,
  log: Logger,
): Promise<void> {
  try {
    verifyBaseline(store, baseline, verifySignature);
  } catch (err) {
    if (err instanceof FimError) {
      const message = `refusing to start: ${err.message}`;
      log(Pri.crit, message);
      alerter?.send({ type: 'error', code: `EXIT${err.exitCode}`, message });
      await alerter?.close(2000);
    }
    throw err;
  }
}
