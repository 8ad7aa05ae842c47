/**
 * The scope of a scan restricted to some paths (`fim check PATH...`, the daemon's rescans): a trie
 * of the scope paths that the walk follows down to them, and the merge of a directory's listing
 * with the trie's children. Pure: no I/O here.
 */
import type { RuleIndex, TrieNode } from '../policy/rule-index.js';

/**
 * Where a path stands relative to the scan's scope: inside it (a number: how many levels below the
 * scope path), or on the way to it (the scope trie node).
 */
export type Scope = number | TrieNode;

export function buildScopeTrie(scope: readonly Buffer[], index: RuleIndex): TrieNode {
  const root: TrieNode = { children: new Map() };
  for (const p of scope) {
    let node = root;
    for (const c of p.toString('latin1').split('/').filter(Boolean)) {
      let next = node.children.get(c);
      if (!next) {
        next = { children: new Map() };
        node.children.set(c, next);
      }
      node = next;
    }
    // Mark the end: reuse `rule` as a flag holder with any rule (only its presence matters).
    node.rule = index.rules[0];
    node.children.clear();
  }
  return root;
}

/** Merge two sorted, duplicate-free lists of names. */
export function mergeNames(a: Buffer[], b: Buffer[]): Buffer[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: Buffer[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length) out.push(a[i++]!);
    else if (i >= a.length) out.push(b[j++]!);
    else {
      const c = Buffer.compare(a[i]!, b[j]!);
      if (c < 0) out.push(a[i++]!);
      else if (c > 0) out.push(b[j++]!);
      else {
        out.push(a[i++]!);
        j++;
      }
    }
  }
  return out;
}
