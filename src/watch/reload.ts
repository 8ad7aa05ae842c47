/**
 * What a reload (SIGHUP) must judge before it takes effect: fim's own files, whose edit is judged
 * under the policy in force before the reload, and the coverage change it makes, which becomes a
 * signed `reload` event (critical when it narrows a critical rule or fim's own files).
 */
import { resolve } from 'node:path';
import type { AlertEvent } from '../alert/index.js';
import type { Config } from '../config.js';
import { Blake3 } from '../hash/blake3.js';
import { coverageChange } from '../policy/coverage.js';
import type { Policy } from '../policy/policy.js';
import { readTextFile } from '../policy/text-file.js';

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
/** BLAKE3 of a configuration file's bytes, "none" without one, "unreadable" when it cannot be read. */
export function configHash(cfg: Config): string {
  if (!cfg.file) return 'none';
  const r = readTextFile(cfg.file);
  return r.ok ? new Blake3().update(r.text).digestHex() : 'unreadable';
}

export function reloadNotice(
  before: Policy,
  after: Policy,
  self: readonly Buffer[],
  configs: { oldConfig: string; newConfig: string },
): { critical: boolean; line: string; event: AlertEvent } {
  const coverage = coverageChange(before, after, self);
  const oldPolicy = before.hash.toString('hex');
  const newPolicy = after.hash.toString('hex');
  const changed = oldPolicy !== newPolicy;
  return {
    critical: coverage.critical,
    line: `${coverage.critical ? 'CRITICAL: ' : ''}reloaded: policy ${oldPolicy} -> ${newPolicy}${changed ? ' (changed)' : ''}, configuration ${configs.oldConfig === configs.newConfig ? 'unchanged' : 'changed'}; ${coverage.text}; database and syslog settings apply at restart`,
    event: {
      type: 'reload',
      oldPolicy,
      newPolicy,
      ...configs,
      critical: coverage.critical,
      changes: coverage.text,
    },
  };
}
