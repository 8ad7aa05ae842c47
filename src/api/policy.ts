/**
 * `checkPolicies()` and `explainPath()`: validate policy files, and say which rule governs a path
 * with which attributes, or why it is excluded or not covered.
 */

import { ATTRIBUTES } from '../attributes.js';
import { displayBytes } from '../display.js';
import { resolvePathBytes } from '../path-key.js';
import type { Rule } from '../policy/policy.js';
import { loadPolicies, type Policy } from '../policy/policy.js';
import { type Classification, RuleIndex } from '../policy/rule-index.js';
import type { AttributeName } from '../types.js';
import { loadConfig, loadPolicy, type SessionOptions } from './session.js';

/** Validate `files` (default: the configured policies); throws PolicyError listing every problem. */
export function checkPolicies(files: string[], o: SessionOptions = {}): Policy {
  return loadPolicies(files.length ? files : loadConfig(o).policies);
}

export interface Explanation {
  /** The absolute path asked about. */
  path: string;
  classification: Classification;
  /** The attributes recorded for it (governed paths only), in table order. */
  attributes: AttributeName[];
}

export function explainPath(path: string | Buffer, o: SessionOptions = {}): Explanation {
  const policy = loadPolicy(loadConfig(o));
  const bytes =
    resolvePathBytes(typeof path === 'string' ? Buffer.from(path, 'utf8') : path) ?? Buffer.from('/');
  const abs = displayBytes(bytes);
  const c = new RuleIndex(policy.rules).classify(bytes);
  const rule: Rule | undefined = c.status === 'uncovered' ? undefined : c.rule;
  return {
    path: abs,
    classification: c,
    // SHA-256 is compared with content only where the rule keeps it (`hashes`).
    attributes: rule
      ? ATTRIBUTES.filter(
          (a) => rule.check.attributes.has(a.name) && (a.name !== 'sha256' || rule.hashes.includes('sha256')),
        ).map((a) => a.name)
      : [],
  };
}
