/**
 * What a reload (SIGHUP) must judge before it takes effect: fim's own files, whose edit is judged
 * under the policy in force before the reload, and the coverage change it makes, which becomes a
 * signed `reload` event (critical when it narrows a critical rule or fim's own files).
 */
import { resolve } from 'node:path';
import type { AlertEvent } from '../alert/index.js';
import type { Config } from '../config.js';
import { coverageChange } from '../policy/coverage.js';
import type { Policy } from '../policy/policy.js';

/** fim's own files, before and after a reload: configuration, policies, keys and database. */
export function selfPaths(before: Config, after: Config, oldPolicy: Policy, newPolicy: Policy): Buffer[] {
  const out = new Set<string>();
  for (const c of [before, after]) {
    if (c.file) out.add(resolve(c.file));
    out.add(resolve(c.keys));
    out.add(resolve(c.database));
  }
  for (const f of [...oldPolicy.files, ...newPolicy.files]) out.add(resolve(f));
  return [...out].map((p) => Buffer.from(p));
}

/** The log line and signed event of a reload from `before` to `after`. */
export function reloadNotice(
  before: Policy,
  after: Policy,
  self: readonly Buffer[],
): { critical: boolean; line: string; event: AlertEvent } {
  const coverage = coverageChange(before, after, self);
  const oldPolicy = before.hash.toString('hex');
  const newPolicy = after.hash.toString('hex');
  const changed = oldPolicy !== newPolicy;
  return {
    critical: coverage.critical,
    line: `${coverage.critical ? 'CRITICAL: ' : ''}reloaded: policy ${oldPolicy} -> ${newPolicy}${changed ? ' (changed)' : ''}; ${coverage.text}; database and syslog settings apply at restart`,
    event: { type: 'reload', oldPolicy, newPolicy, critical: coverage.critical, changes: coverage.text },
  };
}
