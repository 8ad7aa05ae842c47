/**
 * What a policy change does to coverage, for a reload (and any caller that swaps policies): rules
 * added and removed, and every path of the old policy that the new one no longer covers, or checks
 * with fewer attributes. A narrowing is critical when it touches a `critical` rule or one of fim's
 * own files (configuration, policies, keys, database, code): that is how an intruder blinds the
 * monitor before doing anything else. Pure: no I/O.
 */
import { displayBytes } from '../display.js';
import type { Policy, Rule } from './policy.js';
import { RuleIndex } from './rule-index.js';

export interface CoverageChange {
  added: string[];
  removed: string[];
  /** Paths (display form) no longer covered, or covered with fewer attributes, and by what. */
  narrowed: string[];
  /** A narrowing of a critical rule or of fim's own files. */
  critical: boolean;
  /** One line for a log and an alert. */
  text: string;
}

function weaker(before: Rule, after: Rule): string[] {
  return [...before.check.attributes].filter((a) => !after.check.attributes.has(a));
}

export function coverageChange(before: Policy, after: Policy, selfPaths: readonly Buffer[]): CoverageChange {
  const oldNames = new Set(before.rules.map((r) => r.name));
  const newNames = new Set(after.rules.map((r) => r.name));
  const added = after.rules.filter((r) => !oldNames.has(r.name)).map((r) => r.name);
  const removed = before.rules.filter((r) => !newNames.has(r.name)).map((r) => r.name);
  const was = new RuleIndex(before.rules);
  const now = new RuleIndex(after.rules);
  const narrowed: string[] = [];
  let critical = false;
  const judge = (path: Buffer, self: boolean) => {
    const b = was.classify(path);
    if (b.status !== 'covered') return false;
    const a = now.classify(path);
    let what: string | undefined;
    if (a.status !== 'covered')
      what = a.status === 'excluded' ? `excluded by "${a.pattern}"` : `now ${a.status}`;
    else {
      const less = weaker(b.rule, a.rule);
      if (less.length) what = `rule "${a.rule.name}" no longer checks ${less.join(', ')}`;
    }
    if (!what) return false;
    narrowed.push(`${displayBytes(path)} (was rule "${b.rule.name}"): ${what}`);
    if (self || b.rule.severity === 'critical') critical = true;
    return true;
  };
  for (const rule of before.rules) for (const p of rule.paths) judge(p, false);
  // fim's own files, wherever they sit in the tree (a new exclude may hit one below a rule path).
  for (const p of selfPaths) judge(p, true);
  // A new exclude under a critical rule narrows it even where no rule path itself is hit.
  for (const rule of after.rules) {
    const old = before.rules.find((r) => r.name === rule.name);
    if (!old) continue;
    const gained = rule.exclude.filter((e) => !old.exclude.some((o) => o.pattern === e.pattern));
    for (const e of gained) {
      narrowed.push(`rule "${rule.name}" excludes "${e.pattern}" now`);
      if (old.severity === 'critical') critical = true;
    }
  }
  const parts: string[] = [];
  if (added.length) parts.push(`rules added: ${added.join(', ')}`);
  if (removed.length) parts.push(`rules removed: ${removed.join(', ')}`);
  if (narrowed.length) parts.push(`coverage narrowed: ${[...new Set(narrowed)].join('; ')}`);
  return {
    added,
    removed,
    narrowed: [...new Set(narrowed)],
    critical,
    text: parts.length ? parts.join('; ') : 'coverage unchanged',
  };
}
