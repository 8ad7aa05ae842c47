/**
 * The shipped policies (policies/*.yaml) against a generated tree laid out like a real Debian host
 * running a Celery worker and fim itself. The policies name absolute host paths, so each one is
 * rewritten with every rule path and exclude glob moved under a temp root; the rewritten files are
 * installed where fim's own configuration expects them (<root>/etc/fim/policies), so fim watches
 * its own code, configuration, keys and database exactly as on a host.
 *
 * Then: each policy baselines and checks clean on its own, the three together give a clean check,
 * and realistic intrusions are reported with the rule and severity the policies promise, while
 * routine activity (a growing log, a rotated copy, fim's own database) stays quiet.
 */
import {
  appendFileSync,
  chmodSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type CheckJson, type FimResult, fim, ROOT } from '../helpers/fim.js';

const SHIPPED = ['base-os.yaml', 'celery-worker.yaml', 'fim-self.yaml'] as const;
const HOST = 'worker-7';
/** Rule paths this fake host deliberately lacks, as most real hosts do (notes, not errors). */
const ABSENT = ['/etc/ld.so.preload', '/etc/rc.local', '/var/log/btmp'];

interface PolicyRule {
  name: string;
  severity: string;
  paths: string[];
  exclude?: string[];
  [key: string]: unknown;
}
interface PolicyDoc {
  version: number;
  rules: PolicyRule[];
}
interface BaselineJson {
  files: number;
  errors: { path: string; code: string }[];
  missing: { path: string; rule: string }[];
}
type Finding = CheckJson['findings'][number];

function loadShipped(file: string): PolicyDoc {
  return parse(readFileSync(join(ROOT, 'policies', file), 'utf8')) as PolicyDoc;
}

/** The shipped policy with every rule path and exclude glob prefixed by `root`. */
function rewritePolicy(doc: PolicyDoc, root: string): PolicyDoc {
  return {
    ...doc,
    rules: doc.rules.map((r) => ({
      ...r,
      paths: r.paths.map((p) => root + p),
      ...(r.exclude ? { exclude: r.exclude.map((g) => root + g) } : {}),
    })),
  };
}

function parseJson<T>(r: FimResult, what: string): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`${what} did not print JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** Builds the fake host under `root`: a few hundred files, every shipped rule path but ABSENT. */
class FakeHost {
  constructor(readonly root: string) {}

  p(abs: string): string {
    return this.root + abs;
  }
  file(abs: string, content: string | Buffer, mode = 0o644): string {
    const path = this.p(abs);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  }
  dir(abs: string, mode = 0o755): void {
    mkdirSync(this.p(abs), { recursive: true });
    chmodSync(this.p(abs), mode);
  }
  link(abs: string, target: string): void {
    mkdirSync(dirname(this.p(abs)), { recursive: true });
    symlinkSync(target, this.p(abs));
  }
  /** A Python package with sources and the caches `python -m compileall` would leave. */
  pyPackage(abs: string, modules: readonly string[]): void {
    for (const m of modules) {
      const src = `# ${m}\nimport os\n\ndef ${m.replace(/\W/g, '_')}():\n    return os.getpid()\n`;
      this.file(`${abs}/${m}.py`, src);
      // 16-byte pyc header (magic, flags, source mtime, source size), then "bytecode".
      const pyc = Buffer.concat([Buffer.from([0xa7, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0]), Buffer.alloc(8, 1)]);
      this.file(`${abs}/__pycache__/${m}.cpython-311.pyc`, Buffer.concat([pyc, Buffer.from(src)]));
    }
  }

  build(policies: Map<string, string>): void {
    // --- merged /usr and the operating system
    for (const [l, t] of [
      ['/bin', 'usr/bin'],
      ['/sbin', 'usr/sbin'],
      ['/lib', 'usr/lib'],
      ['/lib64', 'usr/lib64'],
    ] as const)
      this.link(l, t);
    for (const b of ['ls', 'ps', 'cat', 'bash', 'python3.11', 'node', 'ssh', 'crontab', 'logger']) {
      this.file(`/usr/bin/${b}`, `\x7fELF fake ${b}\n`, 0o755);
    }
    this.file('/usr/bin/sudo', '\x7fELF fake sudo\n', 0o4755);
    this.file('/usr/bin/passwd', '\x7fELF fake passwd\n', 0o4755);
    this.link('/usr/bin/python3', 'python3.11');
    for (const b of ['sshd', 'useradd', 'cron', 'ldconfig'])
      this.file(`/usr/sbin/${b}`, `\x7fELF ${b}\n`, 0o755);
    this.dir('/usr/local/bin');
    this.dir('/usr/local/share/ca-certificates');
    this.file('/usr/local/bin/deploy-hook', '#!/bin/sh\nexit 0\n', 0o755);
    this.file('/usr/lib/x86_64-linux-gnu/libc.so.6', '\x7fELF libc\n', 0o755);
    this.file('/usr/lib/x86_64-linux-gnu/security/pam_unix.so', '\x7fELF pam_unix\n');
    this.file('/usr/lib/x86_64-linux-gnu/libnss_files.so.2', '\x7fELF nss\n');
    this.pyPackage('/usr/lib/python3/dist-packages', ['six', 'distro']);
    this.link('/usr/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
    this.file('/usr/libexec/coreutils/libstdbuf.so', '\x7fELF stdbuf\n');
    this.file('/usr/lib/modules/6.1.0-28-amd64/kernel/fs/ext4/ext4.ko', '\x7fELF ext4.ko\n');
    this.file('/usr/lib/modules/6.1.0-28-amd64/modules.dep', 'kernel/fs/ext4/ext4.ko:\n');
    this.file('/boot/vmlinuz-6.1.0-28-amd64', 'kernel image\n');
    this.file('/boot/initrd.img-6.1.0-28-amd64', 'initramfs\n');
    this.file('/boot/grub/grub.cfg', 'set default=0\n', 0o444);
    this.file(
      '/etc/passwd',
      'root:x:0:0:root:/root:/bin/bash\ncelery:x:998:998::/srv/celery:/usr/sbin/nologin\n',
    );
    this.file('/etc/group', 'root:x:0:\nsudo:x:27:\ncelery:x:998:\n');
    this.file('/etc/shadow', 'root:$y$j9T$abc$def:19700:0:99999:7:::\ncelery:!:19700::::::\n', 0o640);
    this.file('/etc/gshadow', 'root:*::\nsudo:*::\n', 0o640);
    this.file('/etc/sudoers', 'root ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n', 0o440);
    this.file('/etc/sudoers.d/README', '# files here are read by sudo\n', 0o440);
    this.file('/etc/pam.d/common-auth', 'auth [success=1 default=ignore] pam_unix.so nullok\n');
    this.file('/etc/pam.d/sshd', '@include common-auth\n');
    this.file('/etc/security/limits.conf', '# limits\n');
    this.file('/etc/nsswitch.conf', 'passwd: files\ngroup: files\n');
    this.file('/etc/login.defs', 'UMASK 022\n');
    this.file('/etc/ld.so.conf', 'include /etc/ld.so.conf.d/*.conf\n');
    this.file('/etc/ld.so.conf.d/x86_64-linux-gnu.conf', '/usr/lib/x86_64-linux-gnu\n');
    this.file('/etc/ssh/sshd_config', 'PermitRootLogin prohibit-password\nPasswordAuthentication no\n');
    this.file('/etc/ssh/ssh_config', 'Host *\n');
    this.file('/etc/ssh/ssh_host_ed25519_key', '-----BEGIN OPENSSH PRIVATE KEY-----\n', 0o600);
    this.file('/etc/ssh/ssh_host_ed25519_key.pub', 'ssh-ed25519 AAAAhost root@worker-7\n');
    this.dir('/root/.ssh', 0o700);
    this.file('/root/.ssh/authorized_keys', 'ssh-ed25519 AAAAops ops@bastion\n', 0o600);
    this.file('/root/.ssh/known_hosts', '|1|abc= ssh-ed25519 AAAAgit\n', 0o644);
    this.file('/etc/crontab', 'SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n');
    this.file('/etc/cron.d/e2scrub_all', '30 3 * * 0 root test -e /run/systemd/system || e2scrub_all\n');
    this.file('/etc/cron.daily/logrotate', '#!/bin/sh\n/usr/sbin/logrotate /etc/logrotate.conf\n', 0o755);
    for (const d of ['hourly', 'weekly', 'monthly']) this.file(`/etc/cron.${d}/.placeholder`, '# keep\n');
    this.file('/var/spool/cron/crontabs/celery', '0 4 * * * /srv/celery/venv/bin/celery purge -f\n', 0o600);
    for (const ca of ['ISRG_Root_X1', 'DigiCert_Global_Root_G2', 'GlobalSign_Root_CA']) {
      this.file(`/usr/share/ca-certificates/mozilla/${ca}.crt`, `-----BEGIN CERTIFICATE----- ${ca}\n`);
      this.link(`/etc/ssl/certs/${ca}.pem`, `/usr/share/ca-certificates/mozilla/${ca}.crt`);
    }
    this.link('/etc/ssl/certs/4042bcee.0', 'ISRG_Root_X1.pem');
    this.file('/etc/ssl/certs/ca-certificates.crt', '-----BEGIN CERTIFICATE----- bundle\n');
    this.file('/etc/ca-certificates.conf', 'mozilla/ISRG_Root_X1.crt\n');
    this.dir('/etc/systemd/system/multi-user.target.wants');
    this.link(
      '/etc/systemd/system/multi-user.target.wants/ssh.service',
      '/usr/lib/systemd/system/ssh.service',
    );
    this.link('/etc/systemd/system/sshd.service', '/usr/lib/systemd/system/ssh.service');
    for (const u of ['ssh.service', 'cron.service', 'systemd-journald.service']) {
      this.file(`/usr/lib/systemd/system/${u}`, `[Service]\nExecStart=/usr/sbin/${u.split('.')[0]}\n`);
    }
    this.file('/etc/hosts', '127.0.0.1 localhost\n10.0.0.5 broker.internal logs.internal\n');
    this.file('/etc/profile', 'umask 022\n');
    this.file('/etc/profile.d/bash_completion.sh', '# completion\n');
    this.file('/etc/environment', '');
    this.file('/etc/bash.bashrc', '# bashrc\n');
    this.file(
      '/var/log/auth.log',
      'Nov 24 10:00:00 worker-7 sshd[1]: Server listening on 0.0.0.0 port 22.\n',
      0o640,
    );
    this.file('/var/log/wtmp', Buffer.alloc(384, 7), 0o664);

    // --- the Celery worker
    this.pyPackage('/srv/celery/app', ['__init__', 'celery_app', 'tasks', 'signals', 'settings']);
    this.pyPackage('/srv/celery/app/workers', ['__init__', 'billing', 'reports', 'mail']);
    this.file('/srv/celery/app/requirements.txt', 'celery==5.4.0\nkombu==5.4.2\n');
    this.link('/srv/celery/venv/bin/python', '/usr/bin/python3.11');
    this.link('/srv/celery/venv/bin/python3', 'python');
    this.file(
      '/srv/celery/venv/bin/celery',
      '#!/srv/celery/venv/bin/python\nfrom celery.__main__ import main\n',
      0o755,
    );
    this.file('/srv/celery/venv/pyvenv.cfg', 'home = /usr/bin\nversion = 3.11.2\n');
    const site = '/srv/celery/venv/lib/python3.11/site-packages';
    const pkgs: Record<string, string[]> = {
      celery: ['__init__', 'app', 'worker', 'beat', 'result', 'signals', 'canvas', 'security'],
      'celery/security': ['__init__', 'certificate', 'key', 'serialization', 'utils'],
      kombu: ['__init__', 'connection', 'messaging', 'serialization', 'entity', 'pidbox'],
      'kombu/transport': ['__init__', 'pyamqp', 'redis', 'virtual'],
      billiard: ['__init__', 'pool', 'process', 'connection'],
      vine: ['__init__', 'promises', 'funtools'],
      amqp: ['__init__', 'connection', 'channel', 'transport'],
      cryptography: ['__init__', 'x509', 'fernet', 'exceptions'],
    };
    for (const [pkg, mods] of Object.entries(pkgs)) this.pyPackage(`${site}/${pkg}`, mods);
    this.file(`${site}/celery-5.4.0.dist-info/RECORD`, 'celery/__init__.py,sha256=abc,100\n');
    this.file(`${site}/celery-5.4.0.dist-info/METADATA`, 'Name: celery\nVersion: 5.4.0\n');
    this.file('/etc/ssl/private/worker.key', '-----BEGIN PRIVATE KEY----- worker\n', 0o600);
    this.file('/etc/ssl/certs/worker.pem', '-----BEGIN CERTIFICATE----- worker\n');
    this.file('/etc/ssl/celery-certs/producer.pem', '-----BEGIN CERTIFICATE----- producer\n');
    this.file('/etc/ssl/celery-certs/worker.pem', '-----BEGIN CERTIFICATE----- worker\n');
    this.file(
      '/etc/celery/celeryconfig.py',
      [
        "broker_url = 'amqps://worker@broker.internal:5671//'",
        "accept_content = ['auth']",
        "task_serializer = 'auth'",
        "security_key = '/etc/ssl/private/worker.key'",
        "security_certificate = '/etc/ssl/certs/worker.pem'",
        "security_cert_store = '/etc/ssl/celery-certs/*.pem'",
        '',
      ].join('\n'),
    );
    this.file(
      '/etc/default/celeryd',
      'CELERY_BIN="/srv/celery/venv/bin/celery"\nCELERYD_USER="celery"\nCELERYD_OPTS="--concurrency=4"\n',
    );
    this.file(
      '/etc/systemd/system/celery.service',
      '[Service]\nUser=celery\nEnvironmentFile=/etc/default/celeryd\nExecStart=/srv/celery/venv/bin/celery worker $CELERYD_OPTS\n',
    );
    this.file('/etc/systemd/system/celery.service.d/limits.conf', '[Service]\nLimitNOFILE=65536\n');
    this.link(
      '/etc/systemd/system/multi-user.target.wants/celery.service',
      '/etc/systemd/system/celery.service',
    );
    this.file(
      '/var/log/celery/worker.log',
      '[2026-11-24 10:00:00,000: INFO/MainProcess] celery@worker-7 ready.\n',
      0o640,
    );
    this.file('/var/log/celery/worker.log.2.gz', Buffer.from([0x1f, 0x8b, 8, 0]), 0o640);

    // --- fim itself: the installed package, its link, units, configuration (with the rewritten
    // policies), keys and database (made by the CLI below).
    const pkg = '/usr/lib/node_modules/fim';
    this.file(`${pkg}/package.json`, '{"name":"fim","version":"0.1.0"}\n');
    this.file(`${pkg}/bin/fim`, "#!/usr/bin/env node\nimport('../dist/cli/main.js');\n", 0o755);
    for (const m of ['cli/main', 'scan/scan', 'store/store', 'alert/alerter', 'verify/verifier']) {
      this.file(`${pkg}/dist/${m}.js`, `export const module = '${m}';\n`);
    }
    this.file(
      `${pkg}/node_modules/better-sqlite3/build/Release/better_sqlite3.node`,
      '\x7fELF sqlite\n',
      0o755,
    );
    this.link('/usr/bin/fim', '../lib/node_modules/fim/bin/fim');
    for (const u of ['fim.service', 'fim-check.service', 'fim-check.timer']) {
      this.file(`/usr/lib/systemd/system/${u}`, `[Unit]\nDescription=${u}\n`);
    }
    this.file('/etc/systemd/system/fim.service.d/override.conf', '[Service]\nNice=5\n');
    this.link(
      '/etc/systemd/system/multi-user.target.wants/fim.service',
      '/usr/lib/systemd/system/fim.service',
    );
    this.file('/usr/lib/sysusers.d/fim.conf', 'u fim - "file-integrity monitor"\n');
    this.file('/usr/lib/tmpfiles.d/fim.conf', 'd /var/lib/fim 0750 fim fim -\n');
    this.dir('/etc/fim/policies');
    for (const [name, text] of policies) this.file(`/etc/fim/policies/${name}`, text);
    this.dir('/var/lib/fim', 0o750);
    this.file(
      '/etc/fim/fim.yaml',
      [
        `host: ${HOST}`,
        'policies: [policies/*.yaml]',
        `database: ${this.p('/var/lib/fim/fim.db')}`,
        'keys: keys',
        '',
      ].join('\n'),
      0o640,
    );
  }
}

describe('shipped policies on a generated host tree', () => {
  let host: FakeHost;
  let root: string;
  let config: string;
  const rewritten = new Map<string, PolicyDoc>();

  const run = (args: readonly string[]) => fim([...args, '--config', config]);
  const check = (): { code: number; report: CheckJson; stderr: string } => {
    const r = run(['check', '--json']);
    return { code: r.code, report: parseJson<CheckJson>(r, 'check'), stderr: r.stderr };
  };
  /** [kind, path below the root, rule, severity] of each finding, sorted. */
  const summarize = (fs: readonly Finding[]): string[][] =>
    fs
      .map((f) => [f.kind, f.path.startsWith(root) ? f.path.slice(root.length) : f.path, f.rule, f.severity])
      .sort((a, b) => (a.join(' ') < b.join(' ') ? -1 : 1));
  const find = (fs: readonly Finding[], abs: string): Finding | undefined =>
    fs.find((f) => f.path === host.p(abs));
  const changedAttrs = (f: Finding | undefined): string[] =>
    (f?.changes ?? []).map((c) => c.attribute).sort();

  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'fim-host-')));
    host = new FakeHost(root);
    const texts = new Map<string, string>();
    for (const file of SHIPPED) {
      const doc = rewritePolicy(loadShipped(file), root);
      rewritten.set(file, doc);
      texts.set(file, stringify(doc));
    }
    host.build(texts);
    config = host.p('/etc/fim/fim.yaml');
    const k = run(['keygen', '--epochs', '24']);
    if (k.code !== 0) throw new Error(`keygen failed (${k.code}): ${k.stderr}`);
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it.each(SHIPPED)('fim policy check accepts the shipped %s as is', (file) => {
    const r = fim(['policy', 'check', '--json', join(ROOT, 'policies', file)]);
    expect(r.code, r.stderr).toBe(0);
    const out = parseJson<{ ok: boolean; rules: string[] }>(r, 'policy check');
    expect(out.ok).toBe(true);
    expect(out.rules).toEqual(loadShipped(file).rules.map((x) => x.name));
  });

  it('the rewrite moved every rule path and exclude under the temp root, and still validates', () => {
    for (const [file, doc] of rewritten) {
      const original = loadShipped(file);
      expect(doc.rules.map((r) => r.name)).toEqual(original.rules.map((r) => r.name));
      for (const [i, r] of doc.rules.entries()) {
        expect(r.paths).toEqual(original.rules[i]?.paths.map((p) => root + p));
        expect(r.exclude ?? []).toEqual((original.rules[i]?.exclude ?? []).map((g) => root + g));
      }
    }
    const r = run(['policy', 'check', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson<{ files: string[] }>(r, 'policy check').files).toHaveLength(3);
  });

  it.each(SHIPPED)(
    '%s alone: baseline has no errors, every path but the absent ones exists, check is clean',
    (file) => {
      const policy = host.p(`/etc/fim/policies/${file}`);
      const db = join(root, `alone-${file}.db`);
      const b = run(['baseline', '--json', '--policy', policy, '--db', db]);
      expect(b.code, b.stderr).toBe(0);
      const base = parseJson<BaselineJson>(b, 'baseline');
      expect(base.errors).toEqual([]);
      const paths = (rewritten.get(file)?.rules ?? []).flatMap((r) =>
        r.paths.map((p) => p.slice(root.length)),
      );
      expect(base.missing.map((m) => m.path.slice(root.length)).sort()).toEqual(
        ABSENT.filter((a) => paths.includes(a)).sort(),
      );
      expect(base.files).toBeGreaterThan(file === 'base-os.yaml' ? 80 : 15);
      const c = run(['check', '--json', '--policy', policy, '--db', db]);
      expect(c.code, c.stdout + c.stderr).toBe(0);
      const report = parseJson<CheckJson>(c, 'check');
      expect(report.findings).toEqual([]);
      expect(report.errors).toEqual([]);
      expect(report.summary.scanned).toBe(base.files);
    },
  );

  it('all three policies from fim.yaml: signed baseline without errors, and a clean check', () => {
    const b = run(['baseline', '--json', '--label', 'deploy-1']);
    expect(b.code, b.stderr).toBe(0);
    const base = parseJson<BaselineJson>(b, 'baseline');
    expect(base.errors).toEqual([]);
    expect(base.missing.map((m) => m.path.slice(root.length)).sort()).toEqual([...ABSENT].sort());
    expect(base.files).toBeGreaterThan(250);
    const c = check();
    expect(c.code, JSON.stringify(c.report.findings, null, 1)).toBe(0);
    expect(c.report.findings).toEqual([]);
    expect(c.report.errors).toEqual([]);
    expect(c.report.host).toBe(HOST);
    expect(c.report.baseline.label).toBe('deploy-1');
    // a second run right after: fim's own database changed in between, and that is not a finding
    expect(check().report.findings).toEqual([]);
  });

  it('policy explain: Python caches are governed by the code rule, never excluded; rotated logs are', () => {
    const explain = (abs: string) =>
      parseJson<{ status: string; rule?: string; severity?: string }>(
        run(['policy', 'explain', '--json', host.p(abs)]),
        'policy explain',
      );
    const pyc = explain('/srv/celery/app/__pycache__/backdoor.cpython-311.pyc');
    expect(pyc.status).not.toBe('excluded');
    expect([pyc.rule, pyc.severity]).toEqual(['celery-code', 'high']);
    const venvPyc = explain(
      '/srv/celery/venv/lib/python3.11/site-packages/kombu/__pycache__/x.cpython-311.pyc',
    );
    expect([venvPyc.status, venvPyc.rule]).not.toContain('excluded');
    expect(venvPyc.rule).toBe('celery-venv');
    expect(explain('/var/log/celery/worker.log.1')).toMatchObject({
      status: 'excluded',
      rule: 'celery-logs',
    });
    // longest prefix across files: celery-worker.yaml and fim-self.yaml beat base-os.yaml
    expect(explain('/etc/systemd/system/celery.service').rule).toBe('celery-unit');
    expect(explain('/etc/ssl/certs/worker.pem').rule).toBe('celery-message-signing');
    expect(explain('/etc/ssl/certs/ca-certificates.crt').rule).toBe('os-tls-trust');
    expect(explain('/usr/bin/fim').rule).toBe('fim-code');
  });

  it('realistic intrusions are reported with the promised rule and severity; routine activity is not', () => {
    // A planted cached module: Python would run it in place of the untouched source.
    host.file('/srv/celery/app/__pycache__/backdoor.cpython-311.pyc', Buffer.from('\xa7\r\r\n planted'));
    // An existing cache rewritten behind an unchanged tasks.py.
    host.file('/srv/celery/app/__pycache__/tasks.cpython-311.pyc', Buffer.from('\xa7\r\r\n trojan'));
    // The worker's message-signing key replaced the way an editor or `mv` does it (new inode).
    host.file('/etc/ssl/private/worker.key.new', '-----BEGIN PRIVATE KEY----- intruder\n', 0o600);
    renameSync(host.p('/etc/ssl/private/worker.key.new'), host.p('/etc/ssl/private/worker.key'));
    // A hard link to it beside it, under another name (AIDE's default covers /etc/ssl/private whole).
    linkSync(host.p('/etc/ssl/private/worker.key'), host.p('/etc/ssl/private/snakeoil.key'));
    // A key appended to root's authorized_keys.
    appendFileSync(host.p('/root/.ssh/authorized_keys'), 'ssh-ed25519 AAAAevil intruder@x\n');
    // A sudoers drop-in.
    host.file('/etc/sudoers.d/99-celery', 'celery ALL=(ALL) NOPASSWD: ALL\n', 0o440);
    // A setuid-root shell copy appearing in /usr/bin.
    host.file('/usr/bin/.dbus-helper', '\x7fELF fake bash\n', 0o4755);
    // /etc/shadow: root's password hash changed.
    writeFileSync(host.p('/etc/shadow'), 'root:$y$j9T$evil$evil:19701:0:99999:7:::\ncelery:!:19700::::::\n');
    // A persistence unit drop-in for fim's own service (weakening the monitor).
    host.file(
      '/etc/systemd/system/fim.service.d/zz-off.conf',
      '[Service]\nExecStart=\nExecStart=/bin/true\n',
    );
    // Routine: logs grow, logrotate leaves a rotated copy, root connects to a new host.
    appendFileSync(
      host.p('/var/log/celery/worker.log'),
      '[2026-11-24 10:05:00,000: INFO/MainProcess] Task ok\n',
    );
    appendFileSync(
      host.p('/var/log/auth.log'),
      'Nov 24 10:05:00 worker-7 sshd[2]: Accepted publickey for root\n',
    );
    appendFileSync(host.p('/var/log/wtmp'), Buffer.alloc(384, 8));
    host.file('/var/log/celery/worker.log.1', 'old lines\n', 0o640);
    appendFileSync(host.p('/root/.ssh/known_hosts'), '|1|def= ssh-ed25519 AAAAnew\n');

    const { code, report } = check();
    expect(report.errors).toEqual([]);
    expect(summarize(report.findings)).toEqual(
      summarize(
        (
          [
            ['added', '/etc/sudoers.d/99-celery', 'os-sudo', 'critical'],
            ['added', '/etc/systemd/system/fim.service.d/zz-off.conf', 'fim-units', 'critical'],
            ['added', '/srv/celery/app/__pycache__/backdoor.cpython-311.pyc', 'celery-code', 'high'],
            ['added', '/usr/bin/.dbus-helper', 'os-binaries', 'critical'],
            ['changed', '/etc/shadow', 'os-password-hashes', 'critical'],
            ['added', '/etc/ssl/private/snakeoil.key', 'celery-message-signing', 'critical'],
            ['changed', '/etc/ssl/private', 'celery-message-signing', 'critical'],
            ['changed', '/etc/ssl/private/worker.key', 'celery-message-signing', 'critical'],
            ['changed', '/etc/sudoers.d', 'os-sudo', 'critical'],
            ['changed', '/etc/systemd/system/fim.service.d', 'fim-units', 'critical'],
            ['changed', '/root/.ssh/authorized_keys', 'os-root-ssh', 'critical'],
            ['changed', '/srv/celery/app/__pycache__', 'celery-code', 'high'],
            ['changed', '/srv/celery/app/__pycache__/tasks.cpython-311.pyc', 'celery-code', 'high'],
            ['changed', '/usr/bin', 'os-binaries', 'critical'],
          ] as const
        ).map(([kind, path, rule, severity]) => ({ kind, path: root + path, rule, severity }) as Finding),
      ),
    );
    expect(code).toBe(1 | 4);
    const f = report.findings;
    expect(find(f, '/usr/bin/.dbus-helper')?.attributes?.['mode']).toBe('4755');
    expect(changedAttrs(find(f, '/etc/ssl/private/worker.key'))).toEqual(
      expect.arrayContaining(['content', 'inode']),
    );
    expect(changedAttrs(find(f, '/root/.ssh/authorized_keys'))).toEqual(
      expect.arrayContaining(['content', 'size']),
    );
    expect(changedAttrs(find(f, '/etc/shadow'))).toContain('content');
    expect(changedAttrs(find(f, '/srv/celery/app/__pycache__/tasks.cpython-311.pyc'))).toContain('content');
    const pyc = find(f, '/srv/celery/app/__pycache__/backdoor.cpython-311.pyc');
    expect(pyc?.attributes?.['type']).toBe('file');
    expect(typeof pyc?.attributes?.['content']).toBe('string');
  });

  it('after accepting, growing logs catch an edit of old bytes and a truncation; a retargeted /bin is seen', () => {
    const a = run(['accept', '--all']);
    expect(a.code, a.stderr).toBe(0);
    expect(check().code).toBe(0);

    // Someone erases their traces: one old byte of worker.log changed (same size), auth.log emptied.
    const log = host.p('/var/log/celery/worker.log');
    const text = readFileSync(log, 'utf8');
    writeFileSync(log, text.replace('ready', 'READY'));
    writeFileSync(host.p('/var/log/auth.log'), '');
    // And /bin re-pointed at a directory the intruder controls.
    host.dir('/tmp/evil');
    rmSync(host.p('/bin'));
    symlinkSync(host.p('/tmp/evil'), host.p('/bin'));

    const { code, report } = check();
    expect(summarize(report.findings)).toEqual([
      ['changed', '/bin', 'os-merged-usr-links', 'critical'],
      ['changed', '/var/log/auth.log', 'os-auth-log', 'high'],
      ['changed', '/var/log/celery/worker.log', 'celery-logs', 'medium'],
    ]);
    expect(code).toBe(4);
    expect(changedAttrs(find(report.findings, '/bin'))).toContain('target');
  });
});
