/**
 * `diff()`: compare two stored baselines (default: the one in force and the one it replaced) and
 * return the same report as `check`, with `from` naming the older baseline. Nothing is journaled
 * or sent: it reads the database only.
 */

import { ExitCode } from '../errors.js';
import { rootVerifier } from '../evidence.js';
import { nowNs } from '../ops/baseline.js';
import { diffBaselines } from '../ops/diff.js';
import { hostIdNames } from '../ops/id-names.js';
import { type CheckReport, type FindingJson, findingToJson, type IdNames } from '../report/report.js';
import type { StreamContext } from '../report/stream.js';
import type { Finding } from '../types.js';
import { loadConfig, loadPolicy, openStore, type SessionOptions } from './session.js';

export interface DiffOptions extends SessionOptions {
  /** The older baseline's id (default: the parent of `to`). */
  from?: number;
  /** The newer baseline's id (default: the baseline in force). */
  to?: number;
  /** Each finding with its JSON form (for the line formats); the report then holds none. */
  onFinding?: (j: FindingJson, f: Finding, ctx: StreamContext & { names: IdNames }) => void;
}

export function diff(o: DiffOptions): CheckReport & { from: NonNullable<CheckReport['from']> } {
  const cfg = loadConfig(o);
  const policy = loadPolicy(cfg);
  const store = openStore(cfg);
  try {
    const startedNs = nowNs();
    const r = diffBaselines({
      store,
      policy,
      ...(o.from !== undefined ? { from: o.from } : {}),
      ...(o.to !== undefined ? { to: o.to } : {}),
      verifySignature: rootVerifier(cfg),
    });
    const names = hostIdNames();
    if (o.onFinding) {
      const ctx = { host: cfg.host, run: 0, baseline: r.to, names };
      for (const f of r.findings) o.onFinding(findingToJson(f, undefined, names), f, ctx);
    }
    const count = (k: string) => r.findings.filter((f) => f.kind === k).length;
    let exitCode = ExitCode.ok as number;
    if (count('added')) exitCode |= ExitCode.added;
    if (count('removed')) exitCode |= ExitCode.removed;
    if (count('changed')) exitCode |= ExitCode.changed;
    return {
      host: cfg.host,
      startedNs,
      finishedNs: nowNs(),
      run: null,
      from: r.from,
      baseline: r.to,
      summary: {
        scanned: r.compared,
        added: count('added'),
        removed: count('removed'),
        changed: count('changed'),
        errors: 0,
      },
      findings: o.onFinding ? [] : r.findings.map((f) => findingToJson(f, undefined, names)),
      errors: [],
      notes: r.notes,
      exitCode,
    };
  } finally {
    store.close();
  }
}
