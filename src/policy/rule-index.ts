/**
 * Which rule governs a path: the rule whose path is the longest component-wise prefix of it. The
 * index is a trie of rule paths keyed by raw component bytes (as latin1 strings, one char per byte,
 * so no name is ever mangled). The scanner walks it to reach rule paths without listing the
 * directories above them; compare and explain ask it about single paths.
 */

import { components, joinComponents } from '../path-key.js';
import type { Rule } from './policy.js';

export interface TrieNode {
  children: Map<string, TrieNode>;
  /** Set when a rule path ends here. */
  rule?: Rule;
  /** The sorted child names as Buffers, computed once. */
  sortedNames?: Buffer[];
}

export type Classification =
  | { status: 'covered'; rule: Rule; anchor: Buffer; depth: number }
  | { status: 'excluded'; rule: Rule; anchor: Buffer; pattern: string; at: Buffer }
  | { status: 'too-deep'; rule: Rule; anchor: Buffer; depth: number }
  | { status: 'uncovered' };

export function sortedChildNames(node: TrieNode): Buffer[] {
  node.sortedNames ??= [...node.children.keys()].map((k) => Buffer.from(k, 'latin1')).sort(Buffer.compare);
  return node.sortedNames;
}

export function isExcluded(rule: Rule, path: Buffer): string | undefined {
  if (rule.exclude.length === 0) return undefined;
  const s = path.toString('latin1');
  for (const e of rule.exclude) if (e.re.test(s)) return e.pattern;
  return undefined;
}

export class RuleIndex {
  readonly root: TrieNode = { children: new Map() };

  private readonly byName: ReadonlyMap<string, Rule>;

  /** The rule of that name (names are unique across a policy). */
  ruleNamed(name: string): Rule | undefined {
    return this.byName.get(name);
  }

  constructor(readonly rules: readonly Rule[]) {
    this.byName = new Map(rules.map((r) => [r.name, r]));
    for (const rule of rules) {
      for (const p of rule.paths) {
        let node = this.root;
        for (const c of components(p)) {
          const k = c.toString('latin1');
          let next = node.children.get(k);
          if (!next) {
            next = { children: new Map() };
            node.children.set(k, next);
          }
          node = next;
        }
        node.rule = rule;
      }
    }
  }

  /** The governing rule of a path, and whether that rule records it (excludes, depth). */
  classify(path: Buffer): Classification {
    const comps = components(path);
    let node: TrieNode | undefined = this.root;
    let best: { rule: Rule; at: number } | undefined = this.root.rule
      ? { rule: this.root.rule, at: 0 }
      : undefined;
    for (let i = 0; i < comps.length && node; i++) {
      node = node.children.get(comps[i]!.toString('latin1'));
      if (node?.rule) best = { rule: node.rule, at: i + 1 };
    }
    if (!best) return { status: 'uncovered' };
    const anchor = joinComponents(comps.slice(0, best.at));
    // Excludes apply to the path and to every directory between it and the rule path: an excluded
    // directory's subtree is never descended into.
    for (let i = best.at + 1; i <= comps.length; i++) {
      const at = joinComponents(comps.slice(0, i));
      const pattern = isExcluded(best.rule, at);
      if (pattern !== undefined) return { status: 'excluded', rule: best.rule, anchor, pattern, at };
    }
    const depth = comps.length - best.at;
    if (depth > best.rule.recurse) return { status: 'too-deep', rule: best.rule, anchor, depth };
    return { status: 'covered', rule: best.rule, anchor, depth };
  }

  /** Rule paths, sorted in walk order, for reports of missing rule paths. */
  allPaths(): { path: Buffer; rule: Rule }[] {
    return this.rules.flatMap((rule) => rule.paths.map((path) => ({ path, rule })));
  }
}
