/**
 * YAML with positions, for policy and configuration files. Owns turning YAML nodes into plain values
 * while collecting every problem as "file:line:col: message", so that one run reports all the
 * mistakes in a file at once. It never throws on bad input: callers decide when to raise PolicyError.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';

export class YamlSource {
  readonly problems: string[] = [];
  private readonly lines = new LineCounter();
  readonly root: Node | null;

  constructor(
    readonly file: string,
    text: string,
  ) {
    const doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: false, prettyErrors: true });
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      const first = e.message.split('\n')[0] ?? e.message;
      this.problems.push(
        `${file}:${pos ? `${pos.line}:${pos.col}` : '1:1'}: YAML syntax: ${first.replace(/ at line \d+, column \d+:?$/, '')}`,
      );
    }
    this.root = doc.errors.length ? null : (doc.contents as Node | null);
  }

  where(node: Node | null | undefined): string {
    const off = node?.range?.[0];
    if (off === undefined) return `${this.file}:1:1`;
    const p = this.lines.linePos(off);
    return `${this.file}:${p.line}:${p.col}`;
  }

  problem(node: Node | null | undefined, message: string): void {
    this.problems.push(`${this.where(node)}: ${message}`);
  }

  /**
   * The entries of a mapping, checking for unknown and duplicate keys. Unknown keys get a
   * "did you mean" from the allowed list.
   */
  mapEntries(
    node: Node | null | undefined,
    what: string,
    allowed: readonly string[],
  ): Map<string, Node | null> {
    const out = new Map<string, Node | null>();
    if (!isMap(node)) {
      this.problem(node, `${what} must be a mapping`);
      return out;
    }
    for (const pair of (node as YAMLMap<Node, Node | null>).items) {
      const k = pair.key;
      const key = isScalar(k) ? String(k.value) : null;
      if (key === null) {
        this.problem(k, `${what}: keys must be plain strings`);
        continue;
      }
      if (!allowed.includes(key)) {
        const hint = suggest(key, allowed);
        this.problem(k, `unknown key "${key}" in ${what}${hint ? ` (did you mean "${hint}"?)` : ''}`);
        continue;
      }
      if (out.has(key)) {
        this.problem(k, `duplicate key "${key}" in ${what}`);
        continue;
      }
      out.set(key, pair.value ?? null);
    }
    return out;
  }

  string(node: Node | null | undefined, what: string): string | undefined {
    if (isScalar(node) && typeof node.value === 'string' && node.value.length > 0) return node.value;
    this.problem(node, `${what} must be a non-empty string`);
    return undefined;
  }

  stringList(node: Node | null | undefined, what: string): { value: string; node: Node }[] | undefined {
    const items: Node[] = isSeq(node) ? (node.items as Node[]) : isScalar(node) ? [node] : [];
    if (!isSeq(node) && !isScalar(node)) {
      this.problem(node, `${what} must be a list of strings`);
      return undefined;
    }
    const out: { value: string; node: Node }[] = [];
    for (const it of items) {
      const s = this.string(it, `each entry of ${what}`);
      if (s !== undefined) out.push({ value: s, node: it });
    }
    return out;
  }

  scalar(node: Node | null | undefined): unknown {
    return isScalar(node) ? node.value : undefined;
  }

  isSeq(node: Node | null | undefined): boolean {
    return isSeq(node);
  }

  seqItems(node: Node | null | undefined): Node[] {
    return isSeq(node) ? (node.items as Node[]) : [];
  }
}

/** The allowed word closest to a misspelt one, when it is close enough to be a likely typo. */
export function suggest(word: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const a of allowed) {
    const d = editDistance(word.toLowerCase(), a.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = a;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** "90s", "5m", "1h", "2d" or a number of seconds, to milliseconds. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's'] ?? 1000;
  return n * unit;
}
