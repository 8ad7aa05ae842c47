/**
 * The decoding of fanotify's read buffer (struct fanotify_event_metadata and its info records),
 * against buffers laid out as include/uapi/linux/fanotify.h says, and one real round trip through
 * the kernel (root: CAP_SYS_ADMIN).
 */
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  closeFd,
  FAN,
  fanInit,
  fanMarkFilesystem,
  fsidOf,
  handleOf,
  parseEvents,
  pollIn,
  readFd,
} from '../../../src/sys/fanotify.js';

const FSID = Buffer.from('0102030405060708', 'hex');
const HANDLE = Buffer.from('080000000100000011223344aabbccdd', 'hex'); // 8 bytes, FILEID_INO32_GEN

function info(type: number, body: Buffer): Buffer {
  const len = 4 + body.length;
  const h = Buffer.alloc(4);
  h.writeUInt8(type, 0);
  h.writeUInt16LE(len, 2);
  return Buffer.concat([h, body]);
}

function event(mask: number, pid: number, infos: Buffer[]): Buffer {
  const body = Buffer.concat(infos);
  const m = Buffer.alloc(24);
  m.writeUInt32LE(24 + body.length, 0);
  m.writeUInt8(3, 4);
  m.writeUInt16LE(24, 6);
  m.writeBigUInt64LE(BigInt(mask), 8);
  m.writeInt32LE(-1, 16);
  m.writeInt32LE(pid, 20);
  return Buffer.concat([m, body]);
}

const pidfd = (fd: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(fd, 0);
  return b;
};

describe('parseEvents', () => {
  it('reads a directory handle with a name that is not UTF-8, the object handle and the pidfd', () => {
    const name = Buffer.from('\xff\xfe.py\0\0\0', 'latin1'); // NUL-terminated, padded
    const buf = event(FAN.MODIFY, 4242, [
      info(2, Buffer.concat([FSID, HANDLE, name])),
      info(1, Buffer.concat([FSID, HANDLE])),
      info(4, pidfd(17)),
    ]);
    const [e, ...rest] = parseEvents(buf, buf.length);
    expect(rest).toEqual([]);
    expect(e!.mask).toBe(FAN.MODIFY);
    expect(e!.pid).toBe(4242);
    expect(e!.dir).toEqual(Buffer.concat([FSID, HANDLE]));
    expect(e!.name).toEqual(Buffer.from('\xff\xfe.py', 'latin1'));
    expect(e!.fid).toEqual(Buffer.concat([FSID, HANDLE]));
    expect(e!.pidfd).toBe(17);
  });

  it('"." names the directory itself (null); FAN_EPIDFD stays -2; several events in one read', () => {
    const a = event(FAN.ATTRIB | FAN.ONDIR, 1, [info(2, Buffer.concat([FSID, HANDLE, Buffer.from('.\0')]))]);
    const b = event(FAN.Q_OVERFLOW, 0, [info(4, pidfd(-2))]);
    const evs = parseEvents(Buffer.concat([a, b]), a.length + b.length);
    expect(evs).toHaveLength(2);
    expect(evs[0]!.name).toBeNull();
    expect(evs[0]!.dir).not.toBeNull();
    expect(evs[1]!.mask & FAN.Q_OVERFLOW).toBeTruthy();
    expect(evs[1]!.pidfd).toBe(-2);
  });

  it('drops a truncated tail and a record that claims more than its event', () => {
    const a = event(FAN.MODIFY, 1, [info(1, Buffer.concat([FSID, HANDLE]))]);
    expect(parseEvents(a, a.length - 3)).toEqual([]);
    const bad = Buffer.from(a);
    bad.writeUInt16LE(200, 24 + 2); // the info record's len
    const [e] = parseEvents(bad, bad.length);
    expect(e!.fid).toBeNull();
  });
});

describe('the kernel', () => {
  it('reports a write as the directory handle name_to_handle_at gives, with the name and a pidfd', () => {
    const init = fanInit(
      FAN.CLOEXEC | FAN.NONBLOCK | FAN.REPORT_FID | FAN.REPORT_DFID_NAME | FAN.REPORT_PIDFD,
    );
    expect(init.ok).toBe(true);
    if (!init.ok) return;
    const dir = mkdtempSync(join(tmpdir(), 'fim-fan-unit-'));
    const dfd = openSync(dir, 'r');
    try {
      expect(fanMarkFilesystem(init.n, dfd, true).ok).toBe(true);
      const key = Buffer.concat([fsidOf(dfd)!, handleOf(dfd)!]);
      writeFileSync(join(dir, 'x.txt'), 'x');
      const buf = Buffer.alloc(65536);
      const deadline = Date.now() + 5000;
      let hit: ReturnType<typeof parseEvents>[number] | undefined;
      let mask = 0;
      while (!(mask & FAN.CREATE && mask & FAN.CLOSE_WRITE) && Date.now() < deadline) {
        if (!pollIn(init.n, 100)) continue;
        const r = readFd(init.n, buf);
        if (!r.ok) continue;
        for (const e of parseEvents(buf, r.n)) {
          if (e.pidfd >= 0) closeFd(e.pidfd);
          if (e.dir?.equals(key) && e.name?.toString() === 'x.txt') {
            hit = e;
            mask |= e.mask;
          }
        }
      }
      expect(hit?.pid).toBe(process.pid);
      expect(mask & FAN.CREATE).toBeTruthy();
      expect(mask & FAN.CLOSE_WRITE).toBeTruthy();
    } finally {
      closeFd(dfd);
      closeFd(init.n);
      rmSync(dir, { recursive: true });
    }
  });
});
