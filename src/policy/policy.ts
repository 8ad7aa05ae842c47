/**
 * Policy files: parse, validate with positions, compile. Owns the meaning of a rule (which paths,
 * which attributes, how deep) but not how the file system is walked (src/scan) or compared
 * (src/compare). Every mistake in every file is collected and raised together as one PolicyError.
 */

import { type CheckSpec, PRESET_NAMES, PRESETS, type PresetName } from '../attributes.js';
import { displayBytes } from '../display.js';
import { PolicyError } from '../errors.js';
import { Blake3 } from '../hash/blake3.js';
import {
  ATTRIBUTE_NAMES,
  type AttributeName,
  MANIFEST_SOURCES,
  type ManifestSource,
  SEVERITIES,
  type Severity,
} from '../types.js';
import { compileGlob, type Glob, globProblem } from './glob.js';
import { readTextFile } from './text-file.js';
import { suggest, YamlSource } from './yaml-source.js';

export interface Rule {
  name: string;
  description: string;
  severity: Severity;
  /** Normalised absolute paths, as bytes. */
  paths: Buffer[];
  exclude: { pattern: string; re: Glob }[];
  check: CheckSpec;
  /** The `check` value as written, for explain and reports. */
  checkText: string;
  /** Content digests kept (`hashes`, default [blake3]); BLAKE3 always among them. */
  hashes: readonly HashName[];
  /**
   * Which manifests may explain a change of its paths (`explain`): by default all of them, but
   * none for a critical rule (keys, certificates: no package or deploy explains a new key).
   */
  explain: readonly ManifestSource[];
  /** How many levels below a rule path are covered: 0 = the path only, Infinity = all. */
  recurse: number;
  source: string;
  /** `override: NAME`: this rule takes the paths it shares with rule NAME (a local rule over a shipped one). */
  override: string | null;
  /** Filled by loadPolicies: the paths this rule took from the rule it overrides. */
  overrides?: { rule: string; source: string; paths: Buffer[] };
}

export interface Policy {
  rules: Rule[];
  files: string[];
  /** BLAKE3 over the files' bytes in order: changes whenever any policy text changes. */
  hash: Buffer;
  /** The texts it was made from (kept with each baseline, so a later check can say what changed). */
  sources?: PolicySource[];
}

export interface PolicySource {
  file: string;
  text: string;
}

export const RULE_KEYS = [
  'name',
  'description',
  'severity',
  'paths',
  'exclude',
  'check',
  'hashes',
  'explain',
  'recurse',
  'override',
] as const;

/** The attributes a `check` may name (SHA-256 is asked with `hashes`, not here). */
export const CHECK_NAMES: readonly AttributeName[] = ATTRIBUTE_NAMES.filter((a) => a !== 'sha256');

/** Content digests a rule may keep; BLAKE3 is the baseline's own and always kept. */
export const HASH_NAMES = ['blake3', 'sha256'] as const;
export type HashName = (typeof HASH_NAMES)[number];
const TOP_KEYS = ['version', 'rules'] as const;

/** Normalise an absolute path; undefined when it is not one we accept. */
export function normalisePolicyPath(p: string): string | undefined {
  if (!p.startsWith('/') || p.includes('\0')) return undefined;
  const parts = p.split('/').filter((s) => s.length > 0);
  if (parts.some((s) => s === '.' || s === '..')) return undefined;
  return `/${parts.join('/')}`;
}

/** Resolve a `check` value: a preset, a preset with +attr/-attr, or a list of attributes. */
export function resolveCheck(value: string | string[]): { spec?: CheckSpec; problem?: string } {
  const words = Array.isArray(value) ? value : value.trim().split(/\s+/);
  const attrs = new Set<AttributeName>();
  let growing = false;
  for (const [i, raw] of words.entries()) {
    const w = raw.trim();
    const sign = w[0] === '+' || w[0] === '-' ? w[0] : '';
    const name = sign ? w.slice(1) : w;
    if (!sign && (PRESET_NAMES as readonly string[]).includes(name)) {
      if (i !== 0 || Array.isArray(value)) {
        return { problem: `preset "${name}" must come first and alone, e.g. "check: ${name} -mtime"` };
      }
      for (const a of PRESETS[name as PresetName]) attrs.add(a);
      growing = name === 'growing';
      continue;
    }
    if (name === 'sha256') {
      return {
        problem:
          '"sha256" is not chosen in "check": keep it with "hashes: [blake3, sha256]", and it is compared wherever content is',
      };
    }
    if (!(CHECK_NAMES as readonly string[]).includes(name)) {
      const hint = suggest(name, [...CHECK_NAMES, ...PRESET_NAMES]);
      return {
        problem: `unknown attribute or preset "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; attributes: ${CHECK_NAMES.join(', ')}; presets: ${PRESET_NAMES.join(', ')}`,
      };
    }
    if (!Array.isArray(value) && i === 0 && !sign) {
      return { problem: `"${name}" is an attribute: start with a preset, or give a list of attributes` };
    }
    if (Array.isArray(value) && sign) return { problem: `"${w}": +/- only modify a preset` };
    if (sign === '-') attrs.delete(name as AttributeName);
    else attrs.add(name as AttributeName);
  }
  if (attrs.size === 0 && !growing) return { problem: 'check selects no attribute' };
  attrs.add('type'); // a file turning into a symlink is always a finding
  // SHA-256 goes with the content: kept where `hashes` asks, compared wherever content is.
  if (attrs.has('content')) attrs.add('sha256');
  else attrs.delete('sha256');
  return { spec: { attributes: attrs, growing } };
}

function parseRecurse(v: unknown): number | undefined {
  if (v === true) return Number.POSITIVE_INFINITY;
  if (v === false) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (v === -1) return Number.POSITIVE_INFINITY;
  return undefined;
}

/** Parse and validate one policy file's text. Problems are pushed into `src.problems`. */
export function parsePolicyText(file: string, text: string): { rules: Rule[]; problems: string[] } {
  const src = new YamlSource(file, text);
  const rules: Rule[] = [];
  if (src.root === null) {
    if (src.problems.length === 0) src.problem(null, 'empty policy: expected "version: 1" and "rules:"');
    return { rules, problems: src.problems };
  }
  const top = src.mapEntries(src.root, 'policy', TOP_KEYS);
  const version = top.get('version');
  if (!top.has('version')) src.problem(src.root, 'missing key "version" (expected "version: 1")');
  else if (src.scalar(version) !== 1) src.problem(version, 'unsupported policy version: expected 1');
  const rulesNode = top.get('rules');
  if (!top.has('rules')) src.problem(src.root, 'missing key "rules"');
  else if (!src.isSeq(rulesNode)) src.problem(rulesNode, '"rules" must be a list of rules');
  for (const rn of src.seqItems(rulesNode)) {
    const before = src.problems.length;
    const e = src.mapEntries(rn, 'rule', RULE_KEYS);
    for (const req of ['name', 'paths', 'check'] as const) {
      if (!e.has(req) && src.problems.length === before) src.problem(rn, `rule is missing "${req}"`);
    }
    const name = e.has('name') ? src.string(e.get('name'), 'rule "name"') : undefined;
    if (name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
      src.problem(e.get('name'), `rule name "${name}" may hold only letters, digits, ".", "_" and "-"`);
    }
    const label = name ? `rule "${name}"` : 'rule';
    let description = '';
    if (e.has('description')) description = src.string(e.get('description'), `${label} "description"`) ?? '';
    let severity: Severity = 'medium';
    if (e.has('severity')) {
      const s = src.scalar(e.get('severity'));
      if (typeof s === 'string' && (SEVERITIES as readonly string[]).includes(s)) severity = s as Severity;
      else src.problem(e.get('severity'), `${label}: severity must be one of ${SEVERITIES.join(', ')}`);
    }
    const paths: Buffer[] = [];
    if (e.has('paths')) {
      const list = src.stringList(e.get('paths'), `${label} "paths"`) ?? [];
      if (list.length === 0 && src.isSeq(e.get('paths')))
        src.problem(e.get('paths'), `${label}: "paths" is empty`);
      for (const { value, node } of list) {
        const n = normalisePolicyPath(value);
        if (n === undefined) {
          src.problem(node, `${label}: path "${value}" must be absolute, without "." or ".." components`);
        } else paths.push(Buffer.from(n, 'utf8'));
      }
    }
    const exclude: Rule['exclude'] = [];
    if (e.has('exclude')) {
      for (const { value, node } of src.stringList(e.get('exclude'), `${label} "exclude"`) ?? []) {
        const p = globProblem(value);
        if (p) src.problem(node, `${label}: ${p}`);
        else exclude.push({ pattern: value, re: compileGlob(value) });
      }
    }
    let check: CheckSpec | undefined;
    let checkText = '';
    if (e.has('check')) {
      const node = e.get('check');
      const v = src.scalar(node);
      let value: string | string[] | undefined;
      if (typeof v === 'string') value = v;
      else if (src.isSeq(node)) value = (src.stringList(node, `${label} "check"`) ?? []).map((x) => x.value);
      if (value === undefined)
        src.problem(node, `${label}: "check" must be a preset or a list of attributes`);
      else {
        const r = resolveCheck(value);
        if (r.problem) src.problem(node, `${label}: ${r.problem}`);
        check = r.spec;
        checkText = Array.isArray(value) ? `[${value.join(', ')}]` : value;
      }
    }
    let hashes: HashName[] = ['blake3'];
    if (e.has('hashes')) {
      const node = e.get('hashes');
      const list = src.stringList(node, `${label} "hashes"`);
      if (list) {
        const names = list.map((x) => x.value);
        const bad = names.find((n) => !(HASH_NAMES as readonly string[]).includes(n));
        if (bad !== undefined)
          src.problem(node, `${label}: unknown hash "${bad}" in "hashes"; known: ${HASH_NAMES.join(', ')}`);
        else if (!names.includes('blake3'))
          src.problem(
            node,
            `${label}: "hashes" must include blake3 (the baseline's content hash), e.g. [blake3, sha256]`,
          );
        else hashes = HASH_NAMES.filter((h) => names.includes(h));
      }
    }
    let explain: ManifestSource[] | undefined;
    if (e.has('explain')) {
      const node = e.get('explain');
      const list = src.stringList(node, `${label} "explain"`);
      if (list) {
        const bad = list.find((x) => !(MANIFEST_SOURCES as readonly string[]).includes(x.value));
        if (bad)
          src.problem(
            bad.node,
            `${label}: unknown manifest "${bad.value}" in "explain"; known: ${MANIFEST_SOURCES.join(', ')}`,
          );
        else explain = MANIFEST_SOURCES.filter((m) => list.some((x) => x.value === m));
      }
    }
    let recurse = Number.POSITIVE_INFINITY;
    if (e.has('recurse')) {
      const r = parseRecurse(src.scalar(e.get('recurse')));
      if (r === undefined)
        src.problem(e.get('recurse'), `${label}: recurse must be true, false or a depth (0, 1, 2...)`);
      else recurse = r;
    }
    let override: string | null = null;
    if (e.has('override')) {
      const o = src.string(e.get('override'), `${label} "override"`);
      if (o !== undefined && o === name)
        src.problem(e.get('override'), `${label}: a rule cannot override itself`);
      else if (o !== undefined) override = o;
    }
    if (src.problems.length === before && name && check) {
      rules.push({
        name,
        description,
        severity,
        paths,
        exclude,
        check,
        checkText,
        hashes,
        explain: explain ?? (severity === 'critical' ? [] : [...MANIFEST_SOURCES]),
        recurse,
        source: src.where(rn),
        override,
      });
    }
  }
  return { rules, problems: src.problems };
}

/** Load several policy files; rule names must be unique and no path may belong to two rules. */
export function loadPolicies(files: readonly string[]): Policy {
  const problems: string[] = [];
  const sources: PolicySource[] = [];
  if (files.length === 0)
    throw new PolicyError(['no policy files: give --policy FILE or list "policies" in the configuration']);
  for (const file of new Set(files)) {
    const read = readTextFile(file);
    if (!read.ok) {
      // A positioned problem is file:line:col like every other policy problem.
      if (/^\d+:\d+: /.test(read.problem)) problems.push(`${file}:${read.problem}`);
      else if (read.code) problems.push(`${file}: cannot read policy (${read.code})`);
      else problems.push(`${file}: policy ${read.problem}`);
      continue;
    }
    sources.push({ file, text: read.text });
  }
  return policyFromSources(sources, problems, files);
}

/**
 * A policy from its texts (read by loadPolicies, or kept with a baseline): the same hash, rules
 * and cross-file checks. `problems` already found (unreadable files) are raised with the rest.
 */
export function policyFromSources(
  sources: readonly PolicySource[],
  problems: string[] = [],
  files: readonly string[] = sources.map((x) => x.file),
): Policy {
  const rules: Rule[] = [];
  const hasher = new Blake3();
  for (const { file, text } of sources) {
    hasher.update(Buffer.from(`${file}\0${Buffer.byteLength(text)}\0`));
    hasher.update(text);
    const r = parsePolicyText(file, text);
    // Loops, not push(...spread): a policy with 140,000 rules or problems would overflow the stack.
    for (const p of r.problems) problems.push(p);
    for (const rule of r.rules) rules.push(rule);
  }
  const byName = new Map<string, Rule>();
  for (const rule of rules) {
    const prev = byName.get(rule.name);
    if (prev)
      problems.push(`${rule.source}: duplicate rule name "${rule.name}" (first defined at ${prev.source})`);
    byName.set(rule.name, rule);
  }
  for (const rule of rules) {
    if (rule.override !== null && !byName.has(rule.override))
      problems.push(
        `${rule.source}: rule "${rule.name}" overrides "${rule.override}", but no rule has that name`,
      );
  }
  // A path named by two rules is an error, unless one of them says it overrides the other: then the
  // path is the overriding rule's alone (the other keeps its remaining paths).
  const byPath = new Map<string, Rule>();
  const taken = new Map<Rule, Set<string>>();
  for (const rule of rules) {
    for (const p of rule.paths) {
      const key = p.toString('latin1');
      const other = byPath.get(key);
      if (!other) {
        byPath.set(key, rule);
        continue;
      }
      const [winner, loser] =
        rule.override === other.name
          ? [rule, other]
          : other.override === rule.name
            ? [other, rule]
            : [null, null];
      if (winner === null || loser === null) {
        problems.push(
          `${rule.source}: path "${displayBytes(p)}" is already governed by rule "${other.name}" (${other.source}); to replace that rule for this path, add "override: ${other.name}" to rule "${rule.name}"`,
        );
        continue;
      }
      byPath.set(key, winner);
      const set = taken.get(loser) ?? new Set<string>();
      set.add(key);
      taken.set(loser, set);
      winner.overrides ??= { rule: loser.name, source: loser.source, paths: [] };
      winner.overrides.paths.push(p);
    }
  }
  for (const [loser, keys] of taken) loser.paths = loser.paths.filter((p) => !keys.has(p.toString('latin1')));
  if (problems.length) throw new PolicyError(problems);
  if (rules.length === 0) throw new PolicyError([`${files.join(', ')}: no rules`]);
  return { rules, files: [...files], hash: hasher.digest(), sources: [...sources] };
}
