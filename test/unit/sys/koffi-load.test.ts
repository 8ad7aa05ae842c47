/**
 * How src/sys/libc.ts loads koffi: on x64 glibc the prebuilt binary directly (the package's loader
 * took 4-7 ms of every start), and the package's loader wherever that binary is not installed
 * beside it. Each case in a fresh node process over the built module (dist/), since what is looked
 * at is which modules that process loaded.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const DIST_LIBC = join(ROOT, 'dist/sys/libc.js');
const tmp = mkdtempSync(join(tmpdir(), 'fim-koffi-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Load libc.js at `file` in a fresh process, use it, and say which of koffi's modules were loaded. */
function loadIn(file: string): { ok: boolean; fd: number; errno: number; loader: boolean; binary: string[] } {
  const script = `
    const m = await import(${JSON.stringify(pathToFileURL(file).href)});
    const ok = m.libcAvailable();
    const r = m.openAt(-100, Buffer.from('/\\0'), 0o200000);
    const fd = r && r.ok ? r.n : -1;
    if (fd >= 0) m.closeFd(fd);
    const getpid = m.libcFunction('int getpid(void)');
    const { createRequire } = await import('node:module');
    const cache = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({
      ok, fd, errno: getpid ? (getpid() === process.pid ? 0 : -1) : -2,
      loader: cache.some((k) => /[\\\\/]koffi[\\\\/].*index\\.cjs$/.test(k)),
      binary: cache.filter((k) => k.endsWith('koffi.node')).map((k) => k.split('node_modules').pop()),
    }));`;
  // Without the environment's extra CA file or node options: a warning about either is not ours.
  const { NODE_EXTRA_CA_CERTS: _ca, NODE_OPTIONS: _opts, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('loading koffi', () => {
  it.runIf(process.platform === 'linux' && process.arch === 'x64')(
    'takes the glibc x64 binary directly, without the package loader, and it works',
    () => {
      const got = loadIn(DIST_LIBC);
      expect(got.ok).toBe(true);
      expect(got.fd).toBeGreaterThanOrEqual(0);
      expect(got.errno).toBe(0);
      expect(got.binary).toEqual(['/@koromix/koffi-linux-x64/linux_x64/koffi.node']);
      expect(got.loader).toBe(false);
    },
  );

  it('falls back to the package loader where the binary is not installed beside the module', () => {
    // The module alone, with only koffi itself beside it: the direct require finds nothing, and
    // koffi's own loader finds its binary from where koffi really is.
    const dir = join(tmp, 'alone');
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    copyFileSync(DIST_LIBC, join(dir, 'libc.mjs'));
    symlinkSync(join(ROOT, 'node_modules/koffi'), join(dir, 'node_modules/koffi'));
    const got = loadIn(join(dir, 'libc.mjs'));
    expect(got.ok).toBe(true);
    expect(got.fd).toBeGreaterThanOrEqual(0);
    expect(got.errno).toBe(0);
    expect(got.loader).toBe(true);
    expect(got.binary).toHaveLength(1);
  });
});
