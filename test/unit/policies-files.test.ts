/**
 * The shipped policies (policies/*.yaml), checked for structure against the policy format of
 * design.md: keys, severities, absolute normal paths, presets or attribute lists, recursion, names
 * unique across all files. Then, with a small longest-prefix resolver, which rule governs the paths
 * that matter on a real host. When the CLI exists this is extended with `fim policy check` and
 * `fim policy explain`, which must agree.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMap, isSeq, parseDocument } from 'yaml';
import { PRESET_NAMES } from '../../src/attributes.js';
import { loadPolicies } from '../../src/policy/policy.js';
import { RuleIndex } from '../../src/policy/rule-index.js';
import { ATTRIBUTE_NAMES, SEVERITIES } from '../../src/types.js';

const POLICY_DIR = resolve(import.meta.dirname, '../../policies');
const RULE_KEYS = new Set(['name', 'description', 'severity', 'paths', 'exclude', 'check', 'recurse']);
const REQUIRED_RULE_KEYS = ['name', 'description', 'severity', 'paths', 'check'];

interface ShippedRule {
  file: string;
  name: string;
  severity: string;
  paths: string[];
  exclude: string[];
  check: unknown;
  recurse: unknown;
  description: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A path is absolute, has no empty, `.` or `..` segment and no trailing slash. */
function isNormalAbsolute(p: string): boolean {
  return p.startsWith('/') && p.length > 1 && posix.normalize(p) === p && !p.endsWith('/');
}

/** The attributes a `check` value stands for, or an error message. */
function checkAttributes(check: unknown): string[] | string {
  const attrs = new Set<string>(ATTRIBUTE_NAMES);
  if (Array.isArray(check)) {
    if (check.length === 0) return 'empty attribute list';
    const bad = check.filter((a) => typeof a !== 'string' || !attrs.has(a));
    return bad.length > 0 ? `unknown attributes ${JSON.stringify(bad)}` : (check as string[]);
  }
  if (typeof check !== 'string') return 'check must be a preset or a list of attributes';
  const [preset, ...mods] = check.trim().split(/\s+/);
  if (!(PRESET_NAMES as readonly string[]).includes(preset!)) return `unknown preset ${preset}`;
  for (const m of mods) {
    if (!/^[+-]/.test(m) || !attrs.has(m.slice(1))) return `bad modifier ${m}`;
  }
  return [preset!, ...mods];
}

async function loadAll(): Promise<{ files: Map<string, unknown>; rules: ShippedRule[]; errors: string[] }> {
  const files = new Map<string, unknown>();
  const rules: ShippedRule[] = [];
  const errors: string[] = [];
  for (const file of (await readdir(POLICY_DIR)).filter((f) => f.endsWith('.yaml')).sort()) {
    const text = await readFile(join(POLICY_DIR, file), 'utf8');
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
    for (const e of doc.errors) errors.push(`${file}: ${e.message}`);
    for (const w of doc.warnings) errors.push(`${file}: ${w.message}`);
    if (!isMap(doc.contents)) errors.push(`${file}: top level is not a mapping`);
    const data: unknown = doc.toJS();
    files.set(file, data);
    if (!isRecord(data)) continue;
    const list = doc.get('rules');
    if (!isSeq(list)) continue;
    for (const r of (data['rules'] as unknown[]) ?? []) {
      if (!isRecord(r)) continue;
      rules.push({
        file,
        name: String(r['name']),
        severity: String(r['severity']),
        paths: Array.isArray(r['paths']) ? r['paths'].map(String) : [],
        exclude: Array.isArray(r['exclude']) ? r['exclude'].map(String) : [],
        check: r['check'],
        recurse: r['recurse'],
        description: typeof r['description'] === 'string' ? r['description'] : '',
      });
    }
  }
  return { files, rules, errors };
}

/** The rule whose path is the longest prefix of `path` (design.md), with the path it matched. */
function governing(rules: readonly ShippedRule[], path: string): ShippedRule | undefined {
  let best: { rule: ShippedRule; len: number } | undefined;
  for (const rule of rules) {
    for (const p of rule.paths) {
      if ((path === p || path.startsWith(`${p}/`)) && (!best || p.length > best.len)) {
        best = { rule, len: p.length };
      }
    }
  }
  return best?.rule;
}

describe('shipped policies: structure', () => {
  it('ships the three policies and each parses as YAML without errors or duplicate keys', async () => {
    const { files, errors } = await loadAll();
    expect([...files.keys()]).toEqual(['base-os.yaml', 'celery-worker.yaml', 'fim-self.yaml']);
    expect(errors).toEqual([]);
  });

  it('every file is `version: 1` with a non-empty rules list and nothing else at the top', async () => {
    const { files } = await loadAll();
    for (const [file, data] of files) {
      expect(isRecord(data), file).toBe(true);
      const top = data as Record<string, unknown>;
      expect(Object.keys(top).sort(), file).toEqual(['rules', 'version']);
      expect(top['version'], file).toBe(1);
      expect(Array.isArray(top['rules']) && top['rules'].length > 0, file).toBe(true);
    }
  });

  it('every rule has exactly the known keys, valid values and a real description', async () => {
    const { files } = await loadAll();
    const problems: string[] = [];
    for (const [file, data] of files) {
      for (const r of ((data as Record<string, unknown>)['rules'] as unknown[]) ?? []) {
        if (!isRecord(r)) {
          problems.push(`${file}: a rule is not a mapping`);
          continue;
        }
        const at = `${file}: ${String(r['name'])}`;
        for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) problems.push(`${at}: unknown key ${k}`);
        for (const k of REQUIRED_RULE_KEYS) if (!(k in r)) problems.push(`${at}: missing ${k}`);
        if (typeof r['name'] !== 'string' || !/^[a-z][a-z0-9-]*$/.test(r['name'])) {
          problems.push(`${at}: name must be kebab-case`);
        }
        if (typeof r['description'] !== 'string' || r['description'].length < 40) {
          problems.push(`${at}: description must explain why (40+ characters)`);
        }
        if (!(SEVERITIES as readonly unknown[]).includes(r['severity'])) problems.push(`${at}: bad severity`);
        const paths = r['paths'];
        if (!Array.isArray(paths) || paths.length === 0)
          problems.push(`${at}: paths must be a non-empty list`);
        else {
          for (const p of paths) {
            if (typeof p !== 'string' || !isNormalAbsolute(p)) problems.push(`${at}: bad path ${String(p)}`);
          }
          if (new Set(paths).size !== paths.length) problems.push(`${at}: a path is listed twice`);
        }
        if ('exclude' in r) {
          const ex = r['exclude'];
          if (!Array.isArray(ex)) problems.push(`${at}: exclude must be a list`);
          else
            for (const g of ex)
              if (typeof g !== 'string' || !g.startsWith('/')) problems.push(`${at}: bad glob`);
        }
        const attrs = checkAttributes(r['check']);
        if (typeof attrs === 'string') problems.push(`${at}: ${attrs}`);
        if ('recurse' in r) {
          const rec = r['recurse'];
          if (typeof rec !== 'boolean' && !(Number.isInteger(rec) && (rec as number) >= 0)) {
            problems.push(`${at}: recurse must be true, false or a depth`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('rule names are unique across all files, and no path belongs to two rules', async () => {
    const { rules } = await loadAll();
    const names = rules.map((r) => r.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    const seen = new Map<string, string>();
    const dup: string[] = [];
    for (const r of rules) {
      for (const p of r.paths) {
        const other = seen.get(p);
        if (other) dup.push(`${p}: ${other} and ${r.name}`);
        seen.set(p, r.name);
      }
    }
    expect(dup).toEqual([]);
  });

  it('never excludes Python caches (a planted .pyc is a backdoor)', async () => {
    const { rules } = await loadAll();
    const bad = rules.flatMap((r) => r.exclude.filter((g) => /pycache|\.py[co]?\b|\*\.py/.test(g)));
    expect(bad).toEqual([]);
  });

  it('names no path through the merged-/usr symlinks (the scanner does not follow them)', async () => {
    const { rules } = await loadAll();
    const through = rules.flatMap((r) => r.paths.filter((p) => /^\/(bin|sbin|lib|lib64)\//.test(p)));
    expect(through).toEqual([]);
    const links = rules.find((r) => r.name === 'os-merged-usr-links');
    expect(links?.paths).toEqual(['/bin', '/sbin', '/lib', '/lib64']);
    expect(links?.check).toBe('readonly'); // includes `target`: a retarget is a finding
  });
});

describe('shipped policies: which rule governs a path (longest prefix)', () => {
  // [path, rule, severity, check]
  const cases: [string, string, string, unknown][] = [
    ['/usr/bin/sudo', 'os-binaries', 'critical', 'readonly'],
    ['/usr/sbin/sshd', 'os-binaries', 'critical', 'readonly'],
    ['/bin', 'os-merged-usr-links', 'critical', 'readonly'],
    ['/usr/lib/x86_64-linux-gnu/libc.so.6', 'os-libraries', 'high', 'readonly'],
    ['/usr/lib/python3/dist-packages/__pycache__/six.cpython-311.pyc', 'os-libraries', 'high', 'readonly'],
    ['/usr/lib/modules/6.1.0-28-amd64/kernel/fs/ext4/ext4.ko', 'os-kernel-modules', 'critical', 'readonly'],
    ['/etc/passwd', 'os-accounts', 'critical', 'readonly'],
    ['/etc/shadow', 'os-password-hashes', 'critical', 'readonly'],
    ['/etc/gshadow', 'os-password-hashes', 'critical', 'readonly'],
    ['/etc/sudoers.d/90-cloud-init-users', 'os-sudo', 'critical', 'readonly'],
    ['/etc/ssh/sshd_config', 'os-ssh-config', 'critical', 'readonly'],
    ['/root/.ssh/authorized_keys', 'os-root-ssh', 'critical', 'readonly'],
    ['/root/.ssh/authorized_keys2', 'os-root-ssh', 'critical', 'readonly'],
    ['/etc/cron.d/backdoor', 'os-cron', 'high', 'readonly'],
    ['/var/spool/cron/crontabs/root', 'os-cron', 'high', 'readonly'],
    [
      '/etc/systemd/system/multi-user.target.wants/ssh.service',
      'os-systemd-units-local',
      'critical',
      'readonly',
    ],
    ['/usr/lib/systemd/system/ssh.service', 'os-systemd-units-vendor', 'critical', 'readonly'],
    ['/var/log/auth.log', 'os-auth-log', 'high', 'growing'],
    ['/srv/celery/app/tasks.py', 'celery-code', 'high', 'readonly'],
    ['/srv/celery/app/__pycache__/tasks.cpython-311.pyc', 'celery-code', 'high', 'readonly'],
    [
      '/srv/celery/venv/lib/python3.11/site-packages/kombu/serialization.py',
      'celery-venv',
      'high',
      'readonly',
    ],
    ['/etc/ssl/private/worker.key', 'celery-message-signing', 'critical', 'readonly'],
    ['/etc/ssl/certs/worker.pem', 'celery-message-signing', 'critical', 'readonly'],
    ['/etc/ssl/celery-certs/producer.pem', 'celery-message-signing', 'critical', 'readonly'],
    ['/etc/ssl/certs/ca-certificates.crt', 'os-tls-trust', 'high', 'readonly'],
    ['/etc/celery/celeryconfig.py', 'celery-config', 'high', 'readonly'],
    ['/etc/default/celeryd', 'celery-defaults', 'high', 'readonly'],
    ['/etc/systemd/system/celery.service', 'celery-unit', 'critical', 'readonly'],
    ['/var/log/celery/worker.log', 'celery-logs', 'medium', 'growing'],
    ['/usr/bin/fim', 'fim-code', 'critical', 'readonly'],
    ['/usr/lib/node_modules/fim/dist/index.js', 'fim-code', 'critical', 'readonly'],
    ['/etc/fim/fim.yaml', 'fim-config', 'critical', 'readonly'],
    ['/etc/fim/policies/base-os.yaml', 'fim-config', 'critical', 'readonly'],
    ['/etc/fim/keys/epoch-0007.key', 'fim-keys', 'critical', ['type', 'mode', 'uid', 'gid']],
    ['/var/lib/fim/fim.db', 'fim-database', 'high', ['type', 'mode', 'uid', 'gid', 'inode']],
    ['/usr/lib/systemd/system/fim.service', 'fim-units', 'critical', 'readonly'],
    ['/etc/systemd/system/multi-user.target.wants/fim.service', 'fim-units', 'critical', 'readonly'],
  ];

  it.each(cases)('%s -> %s', async (path, name, severity, check) => {
    const { rules } = await loadAll();
    const rule = governing(rules, path);
    expect(rule?.name).toBe(name);
    expect(rule?.severity).toBe(severity);
    expect(rule?.check).toEqual(check);
  });

  it.each(cases)(
    'fim loads the three files together and governs %s by %s too',
    async (path, name, severity) => {
      const files = (await readdir(POLICY_DIR))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(POLICY_DIR, f));
      const c = new RuleIndex(loadPolicies(files).rules).classify(Buffer.from(path));
      expect(c.status).toBe('covered');
      if (c.status !== 'covered') return;
      expect([c.rule.name, c.rule.severity]).toEqual([name, severity]);
    },
  );

  it('epoch keys are not content-checked (they change legitimately; no hash of a secret is stored)', async () => {
    const { rules } = await loadAll();
    const keys = rules.find((r) => r.name === 'fim-keys');
    const attrs = checkAttributes(keys?.check);
    expect(Array.isArray(attrs) && attrs.includes('content')).toBe(false);
    expect(attrs).toEqual(expect.arrayContaining(['mode', 'uid']));
  });
});
