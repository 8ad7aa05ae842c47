/**
 * Every attribute an intruder can change without touching content or mode, on real files with the
 * real tools (setcap, setfacl, setfattr, chattr), through the real CLI: set, change and remove
 * each one, under `readonly` and under `dynamic` (an attacker's setcap is never "dynamic data").
 * Then what the tools themselves print (getcap, getfacl, lsattr) against what fim shows, a
 * symlink's and a FIFO's xattrs read without following or opening, a file system without xattrs
 * ("unsupported", never a finding), SHA-256 against sha256sum, and times of any year.
 * Root is required (CI runs as root): setcap, chattr +i, trusted.* and security.* xattrs, mounts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CheckJson, Sandbox } from '../helpers/fim.js';

const sh = (script: string) => execFileSync('bash', ['-c', script], { encoding: 'utf8' });

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox('fim-attr-');
});
afterEach(() => {
  // An immutable or append-only file cannot be removed: clear the flags first.
  sh(`chattr -R -i -a ${sb.tree} 2>/dev/null || true`);
  sb.cleanup();
});

function changesOf(report: CheckJson, path: string) {
  const f = report.findings.find((x) => x.path === path);
  return f?.changes ?? [];
}

interface Case {
  attr: string;
  set: string;
  change: string;
  remove: string;
  /** What fim shows before set, after set, after change, after remove. */
  shown: [string, string, string, string];
  /** Other attributes the same command changes too (setfacl moves the mask into the group bits). */
  also?: string[];
}

const CASES: Case[] = [
  {
    attr: 'caps',
    set: 'setcap cap_setuid+ep F',
    change: 'setcap cap_net_raw,cap_net_admin+ep F',
    remove: 'setcap -r F',
    shown: ['(none)', 'cap_setuid=ep', 'cap_net_admin,cap_net_raw=ep', '(none)'],
  },
  {
    attr: 'acl',
    set: 'setfacl -m u:1000:r F',
    change: 'setfacl -m u:1000:rw F',
    remove: 'setfacl -b F',
    shown: [
      '(none)',
      'u::rw-,u:1000:r--,g::r--,m::r--,o::r--',
      'u::rw-,u:1000:rw-,g::r--,m::rw-,o::r--',
      '(none)',
    ],
    also: ['mode'],
  },
  {
    attr: 'selinux',
    set: 'setfattr -n security.selinux -v system_u:object_r:bin_t:s0 F',
    change: 'setfattr -n security.selinux -v unconfined_u:object_r:user_tmp_t:s0 F',
    remove: 'setfattr -x security.selinux F',
    shown: ['(none)', 'system_u:object_r:bin_t:s0', 'unconfined_u:object_r:user_tmp_t:s0', '(none)'],
  },
  {
    attr: 'xattrs',
    set: 'setfattr -n user.backdoor -v 1 F',
    change: 'setfattr -n user.backdoor -v 2 F',
    remove: 'setfattr -x user.backdoor F',
    shown: ['(none)', 'user.backdoor#', 'user.backdoor#', '(none)'],
  },
  {
    attr: 'flags',
    set: 'chattr +i F',
    change: 'chattr -i +a F',
    remove: 'chattr -a F',
    shown: ['e', 'ie', 'ae', 'e'],
  },
];

describe.each(['readonly', 'dynamic'])('under %s', (preset) => {
  it.each(CASES)('$attr: set, changed and removed, each named old -> new', (c) => {
    const file = sb.write('app/python3', '#!/bin/true\n');
    sb.policy(`  - name: app\n    paths: ["{tree}/app"]\n    check: ${preset}\n`);
    const run = (cmd: string) => sh(cmd.replaceAll('F', JSON.stringify(file)));
    expect(sb.fim(['baseline', '-q']).code).toBe(0);
    const steps = [c.set, c.change, c.remove];
    for (const [i, step] of steps.entries()) {
      run(step);
      const { code, report } = sb.check();
      expect(code, `${c.attr} after "${step}"`).toBe(4);
      const changes = changesOf(report, file);
      const mine = changes.find((x) => x.attribute === c.attr);
      expect(mine, `${c.attr} after "${step}": ${JSON.stringify(changes)}`).toBeDefined();
      expect(String(mine?.old)).toContain(c.shown[i]!);
      expect(String(mine?.new)).toContain(c.shown[i + 1]!);
      // Under dynamic, nothing else is named (not even ctime); under readonly, ctime is too.
      const others = changes.map((x) => x.attribute).filter((a) => a !== c.attr && !c.also?.includes(a));
      expect(others).toEqual(preset === 'readonly' ? ['ctime'] : []);
      expect(sb.fim(['baseline', '-q']).code).toBe(0);
    }
    expect(sb.check().code).toBe(0);
  });
});

describe('--fast', () => {
  it('reuses the baseline attributes only while the ctime stands: setcap, setfattr and chattr all move it', () => {
    const f = sb.write('app/python3', '#!/bin/true\n');
    sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: dynamic\n');
    sb.fim(['baseline', '-q']);
    expect(sb.check(['--fast']).code).toBe(0);
    for (const [cmd, attr] of [
      [`setcap cap_setuid+ep ${f}`, 'caps'],
      [`setfattr -n user.x -v 1 ${f}`, 'xattrs'],
      [`chattr +a ${f}`, 'flags'],
      [`setfacl -m u:1000:r ${f}`, 'acl'],
    ] as const) {
      sb.fim(['baseline', '-q']);
      sh(`chattr -a ${f}`);
      sb.fim(['baseline', '-q']);
      sh(cmd);
      const changes = changesOf(sb.check(['--fast']).report, f).map((c) => c.attribute);
      expect(changes, cmd).toContain(attr);
    }
  });
});

describe('what the tools print', () => {
  it('caps match getcap, acl matches getfacl, flags match lsattr', () => {
    const f = sb.write('app/f', 'x');
    sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n');
    sb.fim(['baseline', '-q']);
    for (const spec of [
      'cap_setuid+ep',
      'cap_net_raw,cap_net_admin+ep',
      'cap_chown,cap_setuid+eip',
      'all+ep',
      'all+p cap_chown-p',
    ]) {
      sh(`setcap '${spec}' ${f}`);
      const getcap = sh(`getcap ${f}`)
        .trim()
        .slice(f.length + 1);
      const shown = changesOf(sb.check().report, f).find((x) => x.attribute === 'caps')?.new;
      expect(shown, spec).toBe(getcap);
    }
    sh(`setcap -r ${f}`);
    for (const spec of ['u:1000:r', 'u:1000:rwx,g:33:r', 'u:1000:r,m::rw']) {
      sh(`setfacl -b ${f}; setfacl -m '${spec}' ${f}`);
      const getfacl = sh(`getfacl -cnpE ${f}`)
        .trim()
        .split('\n')
        .map((l) =>
          l
            .replace(/^user:/, 'u:')
            .replace(/^group:/, 'g:')
            .replace(/^mask:/, 'm:')
            .replace(/^other:/, 'o:'),
        )
        .join(',');
      const shown = changesOf(sb.check().report, f).find((x) => x.attribute === 'acl')?.new;
      expect(shown, spec).toBe(getfacl);
    }
    sh(`setfacl -b ${f}`);
    for (const flags of ['+i', '+a', '+d', '+A', '+S', '+s +u', '+j']) {
      sh(`chattr = ${f}; chattr ${flags} ${f} 2>/dev/null || true`);
      const lsattr = sh(`lsattr -d ${f}`).split(' ')[0]!.replaceAll('-', '');
      const { report } = sb.check();
      const shown = changesOf(report, f).find((x) => x.attribute === 'flags')?.new ?? 'e';
      expect(shown === '(none)' ? '' : shown, flags).toBe(lsattr);
      sh(`chattr -i -a ${f}`);
    }
  });

  it('a directory default ACL and a directory flag', () => {
    mkdirSync(sb.path('app/d'), { recursive: true });
    sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: dynamic\n');
    sb.fim(['baseline', '-q']);
    sh(`setfacl -d -m u:1000:rx ${sb.path('app/d')}; chattr +a ${sb.path('app/d')}`);
    const changes = changesOf(sb.check().report, sb.path('app/d'));
    expect(changes.find((x) => x.attribute === 'acl')?.new).toContain('d:u:1000:r-x');
    expect(changes.find((x) => x.attribute === 'flags')?.new).toBe('ae');
  });
});

describe('entries that are never followed or opened', () => {
  it("a symlink's own xattrs, not its target's; a FIFO's, without opening it", () => {
    const target = sb.write('app/target', 'x');
    symlinkSync('target', sb.path('app/link'));
    sh(`mkfifo ${sb.path('app/fifo')}`);
    sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: dynamic\n');
    sb.fim(['baseline', '-q']);
    // trusted.* may sit on a symlink or a FIFO (user.* may not); -h: on the link itself.
    sh(
      `setfattr -h -n trusted.onlink -v 1 ${sb.path('app/link')}; setfattr -n trusted.onfifo -v 1 ${sb.path('app/fifo')}`,
    );
    // A writer waits in open(2) until someone opens the FIFO to read: if the check opened it, even
    // non-blocking, the writer would go on and leave its marker.
    const marker = join(sb.dir, 'fifo-was-opened');
    const writer = spawn('bash', ['-c', `exec 3>${sb.path('app/fifo')}; : > ${marker}`], {
      stdio: 'ignore',
    });
    const { code, report } = sb.check();
    expect(existsSync(marker)).toBe(false);
    writer.kill('SIGKILL');
    expect(code).toBe(4);
    expect(changesOf(report, sb.path('app/link'))).toEqual([
      { attribute: 'xattrs', old: '(none)', new: expect.stringMatching(/^trusted\.onlink#[0-9a-f]{16}$/) },
    ]);
    expect(changesOf(report, sb.path('app/fifo'))).toEqual([
      { attribute: 'xattrs', old: '(none)', new: expect.stringMatching(/^trusted\.onfifo#[0-9a-f]{16}$/) },
    ]);
    expect(changesOf(report, target)).toEqual([]);
  });

  it('an xattr name that is not UTF-8 is kept exact, and a value change under it is seen', () => {
    const f = sb.write('app/f', 'x');
    sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: dynamic\n');
    sh(`setfattr -n $'user.\\xff' -v 1 ${f}; setfattr -n $'user.\\xfe' -v 1 ${f}`);
    sb.fim(['baseline', '-q']);
    sh(`setfattr -n $'user.\\xff' -v 2 ${f}`);
    const changes = changesOf(sb.check().report, f);
    expect(changes).toHaveLength(1);
    const [c] = changes;
    expect(String(c?.old)).toMatch(/^user\.\\xfe#[0-9a-f]{16}, user\.\\xff#[0-9a-f]{16}$/);
    expect(String(c?.old).split(', ')[0]).toBe(String(c?.new).split(', ')[0]);
    expect(String(c?.old).split(', ')[1]).not.toBe(String(c?.new).split(', ')[1]);
  });
});

describe('a file system that keeps no xattrs', () => {
  it('records "unsupported", which is never a finding', () => {
    const mnt = join(sb.dir, 'ram');
    mkdirSync(mnt);
    sh(`mount -t ramfs fim-test-ramfs ${mnt}`);
    try {
      writeFileSync(join(mnt, 'f'), 'x');
      sb.policy(`  - name: ram\n    paths: [${JSON.stringify(mnt)}]\n    check: readonly\n`);
      expect(sb.fim(['baseline', '-q']).code).toBe(0);
      const { code, report } = sb.check();
      expect(code).toBe(0);
      expect(report.findings).toEqual([]);
      // What it recorded says so: an added file's attributes show "unsupported".
      writeFileSync(join(mnt, 'g'), 'y');
      const added = sb.check().report.findings.find((f) => f.kind === 'added');
      expect(added?.attributes).toMatchObject({
        caps: 'unsupported',
        acl: 'unsupported',
        selinux: 'unsupported',
        xattrs: 'unsupported',
        flags: 'unsupported',
      });
    } finally {
      sh(`umount ${mnt}`);
    }
  });
});

describe('SHA-256 for threat intelligence', () => {
  it('equals sha256sum, old and new, in JSON, ECS and the baseline, where the rule keeps it', () => {
    const f = sb.write('app/tasks.py', 'print(1)\n');
    const big = sb.write('app/big.bin', Buffer.alloc(3 * 1024 * 1024 + 17, 0x61));
    sb.policy(
      '  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n    hashes: [blake3, sha256]\n',
    );
    sb.fim(['baseline', '-q']);
    const before = sh(`sha256sum ${f}`).split(' ')[0];
    writeFileSync(f, 'print(2)\n');
    const after = sh(`sha256sum ${f}`).split(' ')[0];
    const { report } = sb.check();
    expect(changesOf(report, f).filter((c) => c.attribute === 'sha256')).toEqual([
      { attribute: 'sha256', old: before, new: after },
    ]);
    const ecs = sb
      .fim(['check', '--format', 'ecs'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file?: { path: string; hash?: { sha256: string } } });
    expect(ecs.find((d) => d.file?.path === f)?.file?.hash?.sha256).toBe(after);
    // An added file carries it too, and a big one is hashed in the same pass as BLAKE3.
    writeFileSync(big, readFileSync(big).subarray(1));
    const b = sh(`sha256sum ${big}`).split(' ')[0];
    expect(changesOf(sb.check().report, big).find((c) => c.attribute === 'sha256')?.new).toBe(b);
  });

  it('is not kept where the rule does not ask', () => {
    const f = sb.write('app/tasks.py', 'print(1)\n');
    sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n');
    sb.fim(['baseline', '-q']);
    writeFileSync(f, 'print(2)\n');
    const names = changesOf(sb.check().report, f).map((c) => c.attribute);
    expect(names).toContain('content');
    expect(names).not.toContain('sha256');
  });
});

describe('times of any year', () => {
  /** Set a time with touch, then baseline and check: exact round trip, then a one-second change seen. */
  function roundTrip(dir: string, when: string) {
    const f = join(dir, 'f');
    writeFileSync(f, 'x');
    sh(`touch -h -d '${when}' ${f}`);
    const ns = lstatSync(f, { bigint: true }).mtimeNs;
    sb.policy(`  - name: t\n    paths: [${JSON.stringify(dir)}]\n    check: readonly\n`);
    const b = sb.fim(['baseline', '-q']);
    expect(b.code, `${when}: ${b.stderr}`).toBe(0);
    const c = sb.check();
    expect(c.code, `${when}: ${c.stderr}`).toBe(0);
    sh(`touch -h -d '@${ns / 1_000_000_000n - 1n}' ${f}`);
    const changed = changesOf(sb.check().report, f).find((x) => x.attribute === 'mtime');
    expect(changed, when).toBeDefined();
    return { ns, shown: String(changed?.old) };
  }

  it('1901, 2300 and the last second ext4 keeps, on this file system', () => {
    const dir = join(sb.dir, 'ext');
    mkdirSync(dir);
    expect(roundTrip(dir, '2300-01-01 00:00:00.123456789 UTC').shown).toBe('2300-01-01T00:00:00.123456789Z');
    expect(roundTrip(dir, '1901-12-14 00:00:00 UTC').shown).toBe('1901-12-14T00:00:00.000000000Z');
    // Far past what the file system stores: it keeps its maximum, and fim stores that exactly.
    const max = roundTrip(dir, '@99999999999999');
    expect(max.shown).toMatch(/^2446-05-10T22:38:55/);
  });

  it('1900 and years past 9999 on tmpfs, which keeps 64-bit seconds', () => {
    const dir = join(sb.dir, 'tmp');
    mkdirSync(dir);
    sh(`mount -t tmpfs fim-test-tmpfs ${dir}`);
    try {
      expect(roundTrip(dir, '1900-01-01 00:00:00 UTC').shown).toBe('1900-01-01T00:00:00.000000000Z');
      expect(roundTrip(dir, '@9999999999999').shown).toBe('+318857-05-20T17:46:39.000000000Z');
      expect(roundTrip(dir, '@-9999999999999').shown).toBe('-314918-08-13T06:13:21.000000000Z');
    } finally {
      sh(`umount ${dir}`);
    }
  });
});
