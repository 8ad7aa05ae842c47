/**
 * `baseline()`: scan everything the policies name, store a new signed baseline, announce its root.
 * Returns what happened; rendering is the caller's.
 */

import type { Config } from '../config.js';
import { ExitCode } from '../errors.js';
import { loadKeyStore, openAlerter, rootSigner, sendAndClose } from '../evidence.js';
import { createBaseline } from '../ops/baseline.js';
import { SplitPool, splitWorkers } from '../ops/split-scan.js';
import type { ScanStats } from '../scan/scan.js';
import type { BaselineMeta } from '../store/store.js';
import type { ScanError } from '../types.js';
import { loadConfig, loadPolicy, openStore, type SessionOptions } from './session.js';

export interface BaselineOptions extends SessionOptions {
  /** A label for this baseline, e.g. deploy-1234 (default "manual"). */
  label?: string;
  onProgress?: (s: ScanStats) => void;
}

export interface BaselineOutcome {
  host: string;
  meta: BaselineMeta;
  stats: ScanStats;
  errors: ScanError[];
  /** Rule paths that do not exist. */
  missing: { path: Buffer; rule: string }[];
  elapsedMs: number;
  /** Whether the root was signed (false: the host has no keys yet). */
  signed: boolean;
  /** 0, or 8 when some entries could not be recorded. */
  exitCode: number;
}

export async function baseline(o: BaselineOptions): Promise<BaselineOutcome> {
  const cfg = loadConfig(o);
  // Threads asked for: the workers load while this one reads the policy, the keys and the database.
  const pool = cfg.scan.threads > 1 ? SplitPool.start(splitWorkers(cfg.scan.threads)) : null;
  try {
    return await baselineWith(o, cfg, pool);
  } finally {
    pool?.close();
  }
}

async function baselineWith(
  o: BaselineOptions,
  cfg: Config,
  pool: SplitPool | null,
): Promise<BaselineOutcome> {
  const policy = loadPolicy(cfg);
  const keys = loadKeyStore(cfg, o.warn);
  const sign = rootSigner(keys);
  const store = openStore(cfg, true);
  try {
    const r = createBaseline({
      store,
      policy,
      host: cfg.host,
      label: o.label ?? 'manual',
      keepBaselines: cfg.baselines.keep,
      workers: pool?.n ?? splitWorkers(cfg.scan.threads, store.latestBaseline()?.files),
      pool,
      ...(sign ? { sign } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    await sendAndClose(openAlerter(cfg, keys, store, undefined, 'baseline'), [
      {
        type: 'baseline',
        root: r.meta.root.toString('hex'),
        label: r.meta.label,
        baselineId: r.meta.id,
        deploy: r.deploy,
      },
    ]);
    return {
      host: cfg.host,
      meta: r.meta,
      stats: r.stats,
      errors: r.errors,
      missing: r.missing,
      elapsedMs: r.elapsedMs,
      signed: sign !== undefined,
      exitCode: r.errors.length ? ExitCode.scanErrors : ExitCode.ok,
    };
  } finally {
    store.close();
  }
}
