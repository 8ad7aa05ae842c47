/**
 * `history()` and `showRun()`: past runs and one run's findings and errors, from the journal.
 */
import { UsageError } from '../errors.js';
import type { RunRow } from '../store/store.js';
import { loadConfig, openStore, type SessionOptions } from './session.js';

export interface RunFindings {
  run: RunRow;
  /** Each finding as it was reported (the JSON of `check`), with its journal id. */
  findings: ({ id: number } & Record<string, unknown>)[];
  errors: { path: Buffer; code: string; message: string }[];
}

export function history(o: SessionOptions & { limit?: number }): RunRow[] {
  const limit = o.limit ?? 20;
  if (!Number.isInteger(limit) || limit <= 0) throw new UsageError('--limit must be a positive integer');
  const store = openStore(loadConfig(o));
  try {
    return store.runs(limit);
  } finally {
    store.close();
  }
}

export function showRun(o: SessionOptions & { run: number }): RunFindings {
  const store = openStore(loadConfig(o));
  try {
    const run = Number.isInteger(o.run) ? store.run(o.run) : undefined;
    if (!run) throw new UsageError(`no run ${o.run}; see "fim history"`);
    return {
      run,
      findings: store.findings(run.id).map((f) => ({ id: f.id, ...(JSON.parse(f.detail) as object) })),
      errors: store.scanErrors(run.id),
    };
  } finally {
    store.close();
  }
}
