/**
 * The explainer on real files and a dpkg database made by the test: verdicts, the guard that the
 * bytes explained are the bytes scanned, and what a rule allows.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Explainer } from '../../../src/explain/explainer.js';
import { FileHasher } from '../../../src/hash/hash-file.js';
import type { Rule } from '../../../src/policy/policy.js';
import { fromBigIntStats } from '../../../src/scan/entry-stat.js';
import { recordFromStat } from '../../../src/scan/record.js';
import type { Finding, Severity } from '../../../src/types.js';
import { Sandbox } from '../../helpers/fim.js';

/**
 * A scratch tree where a package could have installed: /var/lib, not /tmp (the explainer never
 * loads the dpkg database for a path under /tmp, /home, /srv and the like: no package goes there).
 */
class Tree {
  readonly dir = mkdtempSync('/var/lib/fim-test-explainer-');
  write(rel: string, text: string): string {
    const p = join(this.dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  }
  [Symbol.dispose](): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function scanned(path: string): Finding['record'] {
  const st = lstatSync(path, { bigint: true });
  const rec = recordFromStat(Buffer.from(path), fromBigIntStats(st));
  const h = new FileHasher().hash(path, st);
  if (!h.ok) throw new Error(h.message);
  rec.content = h.content;
  return rec;
}

function finding(path: string, severity: Severity = 'high'): Finding {
  return {
    kind: 'changed',
    path: Buffer.from(path),
    rule: 'r',
    severity,
    changes: [],
    record: scanned(path),
  };
}

const rule = (explain: Rule['explain']) => ({ explain }) as Rule;

function dpkgDir(sb: Tree, entries: Record<string, string>): string {
  const admin = join(sb.dir, 'dpkg-admin');
  mkdirSync(join(admin, 'info'), { recursive: true });
  const lines = Object.entries(entries).map(
    ([p, text]) => `${createHash('md5').update(text).digest('hex')}  ${p.slice(1)}`,
  );
  writeFileSync(join(admin, 'info', 'demo:amd64.md5sums'), `${lines.join('\n')}\n`);
  writeFileSync(join(admin, 'status'), 'Package: demo\nStatus: install ok installed\nVersion: 1.2-3\n\n');
  return admin;
}

describe('Explainer', () => {
  it('explains by dpkg, marks a differing file, and never lowers a severity for it', async () => {
    using sb = new Tree();
    const a = sb.write('usr/lib/demo/a.so', 'AAA');
    const b = sb.write('usr/lib/demo/b.so', 'changed');
    const x = new Explainer({
      deployKeys: [],
      deployManifests: [],
      dpkgAdminDir: dpkgDir(sb, { [a]: 'AAA', [b]: 'BBB' }),
    });
    const fa = finding(a);
    const fb = finding(b);
    x.annotate(fa, rule(['dpkg']));
    x.annotate(fb, rule(['dpkg']));
    expect(fa.explanation).toMatchObject({
      source: 'dpkg',
      strength: 'package-db',
      package: 'demo',
      version: '1.2-3',
      verdict: 'matches',
      digest: 'md5',
    });
    expect(fb.explanation?.verdict).toBe('differs');
    expect([fa.severity, fb.severity]).toEqual(['high', 'high']);
  });

  it('believes a re-read only when it is the bytes the scan found', async () => {
    using sb = new Tree();
    const a = sb.write('usr/lib/demo/a.so', 'EVIL');
    const f = finding(a); // the scan saw EVIL...
    writeFileSync(a, 'AAA'); // ...and the intruder put back what dpkg lists before the explainer read it
    const x = new Explainer({
      deployKeys: [],
      deployManifests: [],
      dpkgAdminDir: dpkgDir(sb, { [a]: 'AAA' }),
    });
    x.annotate(f, rule(['dpkg']));
    expect(f.explanation).toBeUndefined();
  });

  it('explains nothing a rule does not allow, nor a removed file', async () => {
    using sb = new Tree();
    const a = sb.write('usr/lib/demo/a.so', 'AAA');
    const x = new Explainer({
      deployKeys: [],
      deployManifests: [],
      dpkgAdminDir: dpkgDir(sb, { [a]: 'AAA' }),
    });
    const none = finding(a);
    x.annotate(none, rule([]));
    expect(none.explanation).toBeUndefined();
    const pipOnly = finding(a);
    x.annotate(pipOnly, rule(['pip']));
    expect(pipOnly.explanation).toBeUndefined();
    const removed = { ...finding(a), kind: 'removed' as const };
    x.annotate(removed, rule(['dpkg']));
    expect(removed.explanation).toBeUndefined();
  });

  it('never loads the dpkg database for a path no package installs to (/tmp, /home, /srv...)', async () => {
    using sb = new Tree();
    await using scratch = new Sandbox('fim-explainer-');
    const inTmp = scratch.write('x.so', 'AAA');
    const a = sb.write('usr/lib/demo/a.so', 'AAA');
    const x = new Explainer({
      deployKeys: [],
      deployManifests: [],
      dpkgAdminDir: dpkgDir(sb, { [a]: 'AAA', [inTmp]: 'AAA' }),
    });
    // Listed by the (test's) database with the very bytes, but under /tmp: not looked up at all.
    const tmp = finding(inTmp);
    x.annotate(tmp, rule(['dpkg']));
    expect(tmp.explanation).toBeUndefined();
    const usr = finding(a);
    x.annotate(usr, rule(['dpkg']));
    expect(usr.explanation?.verdict).toBe('matches');
  });

  it('names a deploy manifest it cannot use among its problems, and goes on', () => {
    const x = new Explainer({
      deployKeys: ['/nonexistent/deploy.pub'],
      deployManifests: ['/nonexistent/m.json'],
      dpkgAdminDir: '/nonexistent',
    });
    const f: Finding = {
      kind: 'added',
      path: Buffer.from('/srv/x'),
      rule: 'r',
      severity: 'low',
      changes: [],
      record: {
        ...recordFromStat(Buffer.from('/srv/x'), fromBigIntStats(lstatSync('/', { bigint: true }))),
        type: 'file',
        content: Buffer.alloc(32),
      },
    };
    x.annotate(f, rule(['deploy', 'dpkg']));
    expect(f.explanation).toBeUndefined();
    expect(x.problems().join('\n')).toMatch(
      /deploy key \/nonexistent\/deploy\.pub: cannot open[\s\S]*deploy manifest \/nonexistent\/m\.json: cannot open/,
    );
  });
});

describe('Explainer memory', () => {
  it('explainers share one hasher: a rescan each (hundreds a second in a storm) allocates no read buffer', () => {
    // Each event rescan makes its own explainer. With a FileHasher each (a 1 MiB read buffer),
    // 64 explainers alive at once held 64 MiB of array buffers.
    const settings = { deployKeys: [], deployManifests: [], dpkgAdminDir: '/nonexistent' };
    const before = process.memoryUsage().arrayBuffers;
    const alive = Array.from({ length: 64 }, () => new Explainer(settings));
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(alive).toHaveLength(64);
    expect(grown).toBeLessThan(8 << 20);
  });
});
