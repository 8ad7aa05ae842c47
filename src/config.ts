/**
 * The configuration file (/etc/fim/fim.yaml), validated like a policy: every mistake with its
 * file:line:col. Relative paths in it are relative to the file's own directory. Command-line
 * overrides (--policy, --db) are applied by `resolveConfig`, never by the commands themselves.
 */
import { existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parseTarget } from './alert/target.js';
import { PolicyError, UsageError } from './errors.js';
import { classProblem, compileGlob } from './policy/glob.js';
import { readTextFile } from './policy/text-file.js';
import { parseDuration, YamlSource } from './policy/yaml-source.js';

export const DEFAULT_CONFIG = '/etc/fim/fim.yaml';

export interface SyslogConfig {
  target: string | null;
  facility: string;
  maxPerSecond: number;
  /** For tls:// targets: the CA that signed the log server's certificate (default: system trust). */
  ca: string | null;
  /** For tls:// targets that require client certificates. */
  cert: string | null;
  key: string | null;
}

export interface WatchConfig {
  debounceMs: number;
  fullCheckMs: number;
  heartbeatMs: number;
  /** How often directories that could not be watched (watch limit) are rescanned. */
  fallbackScanMs: number;
  /**
   * At most this many inotify watches (`watch.max_watches`), so fim leaves the rest of
   * fs.inotify.max_user_watches to other programs; beyond it, as beyond the kernel's limit, the
   * unwatched trees are scanned every `fallbackScanMs`. Absent: only the kernel's limit applies.
   */
  maxWatches?: number;
  /**
   * `watch.backend`: `auto` (fanotify where the process may use it, else inotify), `inotify` or
   * `fanotify` (an error at start where it cannot be used). See src/watch/backend-choice.ts.
   */
  backend: 'auto' | 'inotify' | 'fanotify';
}

export interface Config {
  file: string | null;
  host: string;
  policies: string[];
  database: string;
  keys: string;
  keyEpochMs: number;
  syslog: SyslogConfig;
  watch: WatchConfig;
  retention: { runs: number };
  /** How many baselines keep their records (for `fim diff`); the newest always does. */
  baselines: { keep: number };
  /**
   * Threads a full `baseline` or `check` is split over (ops/split-scan.ts), the command's own
   * included: 1 (default) walks on it alone; 0 is one per CPU, up to 4, for trees of 2,048 entries
   * or more. Each extra thread costs about 40 MB (docs/performance.md).
   */
  scan: { threads: number };
  /** Manifests that may explain a change (src/explain/): trusted deploy keys, where deploys leave manifests, dpkg's directory. */
  explain: { deployKeys: string[]; deployManifests: string[]; dpkgAdminDir: string };
}

export const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;

export const SYSLOG_KEYS = ['target', 'facility', 'max_per_second', 'ca', 'cert', 'key'] as const;
export const WATCH_KEYS = [
  'debounce_ms',
  'full_check',
  'heartbeat',
  'fallback_scan',
  'max_watches',
  'backend',
] as const;
export const EXPLAIN_KEYS = ['deploy_keys', 'deploy_manifests', 'dpkg_admin_dir'] as const;
export const CONFIG_KEYS = [
  'explain',
  'host',
  'policies',
  'database',
  'keys',
  'key_epoch',
  'syslog',
  'watch',
  'retention',
  'baselines',
  'scan',
] as const;

export function defaultConfig(): Config {
  return {
    file: null,
    host: hostname(),
    policies: [],
    database: '/var/lib/fim/fim.db',
    keys: '/etc/fim/keys',
    keyEpochMs: 3_600_000,
    syslog: { target: null, facility: 'authpriv', maxPerSecond: 50, ca: null, cert: null, key: null },
    watch: {
      debounceMs: 50,
      fullCheckMs: 3_600_000,
      heartbeatMs: 60_000,
      fallbackScanMs: 60_000,
      backend: 'auto',
    },
    retention: { runs: 500 },
    baselines: { keep: 5 },
    scan: { threads: 1 },
    explain: { deployKeys: [], deployManifests: [], dpkgAdminDir: '/var/lib/dpkg' },
  };
}

/** Expand a policy entry: a file, or a glob in its last component (e.g. /etc/fim/policies/*.yaml). */
export function expandPolicyGlob(pattern: string): string[] {
  const base = basename(pattern);
  if (!/[*?[]/.test(base)) return [pattern];
  const dir = dirname(pattern);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const re = compileGlob(`/${base}`);
  // Like a shell: hidden files (editor lock files, backups) are not policies.
  return names
    .filter((n) => !n.startsWith('.'))
    .filter((n) => re.test(`/${Buffer.from(n).toString('latin1')}`))
    .sort()
    .map((n) => join(dir, n));
}

export function parseConfigText(file: string, text: string): Config {
  const src = new YamlSource(file, text);
  const cfg = defaultConfig();
  cfg.file = file;
  const here = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(here, p));
  if (src.root === null) {
    if (src.problems.length) throw new PolicyError(src.problems);
    return cfg;
  }
  const top = src.mapEntries(src.root, 'configuration', CONFIG_KEYS);
  if (top.has('host')) cfg.host = src.string(top.get('host'), '"host"') ?? cfg.host;
  if (top.has('policies')) {
    const list = src.stringList(top.get('policies'), '"policies"') ?? [];
    cfg.policies = list.flatMap((x) => {
      const bad = classProblem(`/${basename(x.value)}`);
      if (bad) {
        src.problem(x.node, `"policies": ${bad}`);
        return [];
      }
      return expandPolicyGlob(abs(x.value));
    });
  }
  if (top.has('database')) cfg.database = abs(src.string(top.get('database'), '"database"') ?? cfg.database);
  if (top.has('keys')) cfg.keys = abs(src.string(top.get('keys'), '"keys"') ?? cfg.keys);
  if (top.has('key_epoch')) {
    const d = parseDuration(src.scalar(top.get('key_epoch')));
    if (d === undefined || d < 1000)
      src.problem(top.get('key_epoch'), '"key_epoch" must be a duration of at least 1s, e.g. 1h');
    else cfg.keyEpochMs = d;
  }
  if (top.has('syslog')) {
    const s = src.mapEntries(top.get('syslog'), '"syslog"', SYSLOG_KEYS);
    for (const k of ['ca', 'cert', 'key'] as const) {
      if (s.has(k)) {
        const v = src.string(s.get(k), `"syslog.${k}"`);
        if (v !== undefined) cfg.syslog[k] = abs(v);
      }
    }
    if (s.has('target')) {
      const t = src.string(s.get('target'), '"syslog.target"');
      if (t !== undefined) {
        try {
          parseTarget(t);
          cfg.syslog.target = t;
        } catch (err) {
          src.problem(s.get('target'), `"syslog.target": ${(err as Error).message}`);
        }
      }
    }
    if (s.has('facility')) {
      const f = src.scalar(s.get('facility'));
      if (typeof f === 'string' && (FACILITIES as readonly string[]).includes(f)) cfg.syslog.facility = f;
      else src.problem(s.get('facility'), `"syslog.facility" must be one of ${FACILITIES.join(', ')}`);
    }
    if (s.has('max_per_second')) {
      const n = src.scalar(s.get('max_per_second'));
      if (typeof n === 'number' && Number.isInteger(n) && n > 0) cfg.syslog.maxPerSecond = n;
      else src.problem(s.get('max_per_second'), '"syslog.max_per_second" must be a positive integer');
    }
  }
  if (top.has('watch')) {
    const w = src.mapEntries(top.get('watch'), '"watch"', WATCH_KEYS);
    if (w.has('debounce_ms')) {
      const n = src.scalar(w.get('debounce_ms'));
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0) cfg.watch.debounceMs = n;
      else src.problem(w.get('debounce_ms'), '"watch.debounce_ms" must be a non-negative integer');
    }
    if (w.has('max_watches')) {
      const n = src.scalar(w.get('max_watches'));
      if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) cfg.watch.maxWatches = n;
      else src.problem(w.get('max_watches'), '"watch.max_watches" must be a positive integer');
    }
    if (w.has('backend')) {
      const b = src.scalar(w.get('backend'));
      if (b === 'auto' || b === 'inotify' || b === 'fanotify') cfg.watch.backend = b;
      else src.problem(w.get('backend'), '"watch.backend" must be auto, inotify or fanotify');
    }
    for (const [key, field] of [
      ['full_check', 'fullCheckMs'],
      ['heartbeat', 'heartbeatMs'],
      ['fallback_scan', 'fallbackScanMs'],
    ] as const) {
      if (!w.has(key)) continue;
      const d = parseDuration(src.scalar(w.get(key)));
      if (d === undefined || d < 100)
        src.problem(w.get(key), `"watch.${key}" must be a duration such as 60s or 1h`);
      else cfg.watch[field] = d;
    }
  }
  if (top.has('retention')) {
    const r = src.mapEntries(top.get('retention'), '"retention"', ['runs']);
    if (r.has('runs')) {
      const n = src.scalar(r.get('runs'));
      if (typeof n === 'number' && Number.isInteger(n) && n > 0) cfg.retention.runs = n;
      else src.problem(r.get('runs'), '"retention.runs" must be a positive integer');
    }
  }
  if (top.has('baselines')) {
    const b = src.mapEntries(top.get('baselines'), '"baselines"', ['keep']);
    if (b.has('keep')) {
      const n = src.scalar(b.get('keep'));
      if (typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 1000) cfg.baselines.keep = n;
      else src.problem(b.get('keep'), '"baselines.keep" must be an integer from 1 to 1000');
    }
  }
  if (top.has('scan')) {
    const sc = src.mapEntries(top.get('scan'), '"scan"', ['threads']);
    if (sc.has('threads')) {
      const n = src.scalar(sc.get('threads'));
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 16) cfg.scan.threads = n;
      else
        src.problem(
          sc.get('threads'),
          '"scan.threads" must be an integer from 0 (one per CPU) to 16 (1: no split)',
        );
    }
  }
  if (top.has('explain')) {
    const e = src.mapEntries(top.get('explain'), '"explain"', EXPLAIN_KEYS);
    for (const [key, field] of [
      ['deploy_keys', 'deployKeys'],
      ['deploy_manifests', 'deployManifests'],
    ] as const) {
      if (e.has(key))
        cfg.explain[field] = (src.stringList(e.get(key), `"explain.${key}"`) ?? []).map((x) => abs(x.value));
    }
    if (e.has('dpkg_admin_dir'))
      cfg.explain.dpkgAdminDir = abs(
        src.string(e.get('dpkg_admin_dir'), '"explain.dpkg_admin_dir"') ?? cfg.explain.dpkgAdminDir,
      );
  }
  if (src.problems.length) throw new PolicyError(src.problems);
  return cfg;
}

export interface ConfigOverrides {
  config?: string;
  policy?: string[];
  db?: string;
}

/** The configuration in force: the file (if any) with the command line's overrides applied. */
export function resolveConfig(o: ConfigOverrides): Config {
  let cfg: Config;
  const file = o.config ?? DEFAULT_CONFIG;
  if (o.config !== undefined || existsSync(file)) {
    const read = readTextFile(file);
    if (!read.ok) {
      if (/^\d+:\d+: /.test(read.problem)) throw new PolicyError([`${file}:${read.problem}`]);
      if (read.code) throw new UsageError(`cannot read configuration ${file}: ${read.code}`);
      throw new UsageError(`configuration ${file}: ${read.problem}`);
    }
    cfg = parseConfigText(file, read.text);
  } else {
    cfg = defaultConfig();
  }
  if (o.policy && o.policy.length > 0) cfg.policies = o.policy.map((p) => resolve(p));
  if (o.db) cfg.database = resolve(o.db);
  return cfg;
}
