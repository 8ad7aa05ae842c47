/**
 * Attribution: what /proc says of a process, parsed and bounded, and its one-line form.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { whoText } from '../../../src/display.js';
import { closeFd, pidfdInfo, pidfdOpen } from '../../../src/sys/fanotify.js';
import { parseCgroup, parseCmdline, readWho, WhoCache } from '../../../src/watch/attribution.js';
import { hasSysAdmin, kernelVersion } from '../../../src/watch/backend-choice.js';
import { waitFor } from '../../helpers/wait.js';

describe('parseCmdline', () => {
  it.each([
    ['a\0b c\0', ['a', 'b c']],
    ['a\0\0b\0', ['a', '', 'b']],
    ['no-nul', ['no-nul']],
    ['x\n\xff\0', ['x\\n\\xff']],
  ])('%j', (raw, want) => {
    expect(parseCmdline(Buffer.from(raw, 'latin1'))).toEqual(want);
  });
});

describe('parseCgroup', () => {
  const id = 'a'.repeat(64);
  it.each([
    ['0::/user.slice/user-0.slice/session-3.scope\n', { cgroup: '/user.slice/user-0.slice/session-3.scope' }],
    [`0::/system.slice/docker-${id}.scope\n`, { cgroup: `/system.slice/docker-${id}.scope`, container: id }],
    [`0::/kubepods/besteffort/pod1/${id}\n`, { cgroup: `/kubepods/besteffort/pod1/${id}`, container: id }],
    ['', {}],
  ])('%j', (text, want) => {
    expect(parseCgroup(text)).toEqual(want);
  });
});

describe('readWho', () => {
  it('reads a live process: pid, uid, exe, cmdline, parent', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)', 'who-probe'], {
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => child.once('spawn', r));
      const w = readWho(child.pid!);
      expect(w).toMatchObject({ pid: child.pid, exited: false, uid: process.getuid!(), ppid: process.pid });
      expect(w.exe).toBe(process.execPath);
      expect(w.pexe).toBe(process.execPath);
      expect(w.cmdline?.at(-1)).toBe('who-probe');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a gone process is exited; a pidfd that says gone marks what was read exited', () => {
    expect(readWho(2 ** 22 + 12345)).toEqual({ pid: 2 ** 22 + 12345, exited: true });
    // Hidden from us (ProtectProc=invisible) but its pidfd says alive: not exited; its uid and
    // parent where the pidfd can tell (PIDFD_GET_INFO).
    const hidden = 2 ** 22 + 12345;
    expect(readWho(hidden, () => true)).toEqual({ pid: hidden, exited: false });
    expect(
      readWho(
        hidden,
        () => true,
        () => ({ uid: 1000, ppid: 1 }),
      ),
    ).toEqual({
      pid: hidden,
      exited: false,
      uid: 1000,
      ppid: 1,
    });
    const w = readWho(process.pid, () => false);
    expect(w.exited).toBe(true);
    expect(w.exe).toBe(process.execPath);
  });

  it('a burst by one process is read once', () => {
    const c = new WhoCache(1000);
    let reads = 0;
    const read = () => {
      reads++;
      return { pid: 7, exited: false };
    };
    for (let i = 0; i < 100; i++) c.get(7, 1000 + i, read);
    expect(reads).toBe(1);
    c.get(7, 2500, read);
    expect(reads).toBe(2);
  });
});

describe('pidfdInfo', () => {
  it("reads another user's process by its pidfd alone: uid and parent", async () => {
    const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sleep', '30'], {
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => child.once('spawn', r));
      // setpriv execs sleep: the same pid, once its uid is 65534.
      const info = await waitFor(
        () => {
          const r = pidfdOpen(child.pid!);
          if (!r.ok) return null;
          const i = pidfdInfo(r.n);
          closeFd(r.n);
          return i?.uid === 65534 ? i : null;
        },
        { what: 'the child as uid 65534' },
      );
      expect(info).toEqual({ uid: 65534, ppid: process.pid });
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('whoText', () => {
  it('is one line in display form; exited first', () => {
    const t = whoText({
      pid: 9,
      exited: true,
      uid: 0,
      loginuid: 4294967295,
      exe: '/tmp/\\xff',
      cmdline: ['sh', '-c', 'x\\ny'],
    });
    expect(t).toBe('exited pid=9 uid=0 auid=unset exe=/tmp/\\xff cmd=sh -c x\\ny');
    expect(t.split('\n')).toHaveLength(1);
  });
});

describe('backend choice', () => {
  it.each([
    ['CapEff:\t000001ffffffffff\n', true],
    ['CapEff:\t0000000000200000\n', true],
    ['CapEff:\t0000000000000000\n', false],
    ['CapEff:\t00000000001fffff\n', false],
    ['', false],
  ])('CAP_SYS_ADMIN in %j: %s', (status, want) => {
    expect(hasSysAdmin(status)).toBe(want);
  });

  it.each([
    ['6.18.44-fc-v1045', [6, 18]],
    ['5.9.0', [5, 9]],
    ['junk', [0, 0]],
  ])('kernel %s', (rel, want) => {
    expect(kernelVersion(rel)).toEqual(want);
  });
});
