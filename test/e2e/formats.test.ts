/**
 * `fim check --format`: each format read back by a real consumer. ndjson through `jq` (one finding
 * per line, journaled ids, then a summary); ECS documents checked field by field against the types
 * of the ECS field reference (8.x: keyword ids and mode, long size, date times, the allowed
 * event.kind/category/type values). Streaming keeps memory flat: 100,000 findings stay under
 * 120 MB (long lane). A baseline that fails its integrity check streams nothing.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, utimesSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { FIM, fim, Sandbox } from '../helpers/fim.js';
import { delay } from '../helpers/wait.js';

const LONG = Boolean(process.env.FIM_LONG_TESTS);

/** Field types from the ECS field reference for every ECS field fim writes. */
const ECS_FIELDS: Record<string, 'keyword' | 'date' | 'long' | 'match_only_text' | 'keyword[]'> = {
  '@timestamp': 'date',
  'ecs.version': 'keyword',
  message: 'match_only_text',
  'event.kind': 'keyword',
  'event.category': 'keyword[]',
  'event.type': 'keyword[]',
  'event.action': 'keyword',
  'event.module': 'keyword',
  'event.dataset': 'keyword',
  'event.severity': 'long',
  'event.id': 'keyword',
  'event.outcome': 'keyword',
  'file.path': 'keyword',
  'file.name': 'keyword',
  'file.directory': 'keyword',
  'file.type': 'keyword',
  'file.mode': 'keyword',
  'file.uid': 'keyword',
  'file.gid': 'keyword',
  'file.owner': 'keyword',
  'file.group': 'keyword',
  'file.size': 'long',
  'file.inode': 'keyword',
  'file.device': 'keyword',
  'file.mtime': 'date',
  'file.ctime': 'date',
  'file.target_path': 'keyword',
  'host.name': 'keyword',
  'rule.name': 'keyword',
  'error.code': 'keyword',
  'error.message': 'match_only_text',
};
/** Allowed values (ECS categorization fields). */
const EVENT_KIND = ['alert', 'asset', 'enrichment', 'event', 'metric', 'state', 'pipeline_error', 'signal'];
const EVENT_CATEGORY = ['file'];
const EVENT_TYPE = ['change', 'creation', 'deletion', 'info'];

function flatten(o: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      Object.assign(out, flatten(v as Record<string, unknown>, key));
    else out[key] = v;
  }
  return out;
}

function expectEcsTypes(doc: Record<string, unknown>): void {
  const flat = flatten(doc);
  for (const [field, value] of Object.entries(flat)) {
    if (field.startsWith('fim.')) continue; // fim's own namespace
    const type = ECS_FIELDS[field];
    expect(type, `${field} is not an ECS field fim may write`).toBeDefined();
    if (type === 'date') expect(Number.isNaN(Date.parse(String(value))), field).toBe(false);
    if (type === 'long') expect(Number.isInteger(value), field).toBe(true);
    if (type === 'keyword' || type === 'match_only_text') expect(typeof value, field).toBe('string');
    if (type === 'keyword[]') expect(Array.isArray(value), field).toBe(true);
  }
  expect(EVENT_KIND).toContain(flat['event.kind']);
  for (const c of flat['event.category'] as string[]) expect(EVENT_CATEGORY).toContain(c);
  for (const t of flat['event.type'] as string[]) expect(EVENT_TYPE).toContain(t);
}

function intruded(): Sandbox {
  const sb = new Sandbox('fim-formats-');
  sb.write('app/keep.py', 'keep');
  sb.write('app/edit.py', 'v1');
  sb.write('app/gone.py', 'bye');
  sb.policy('  - name: app\n    severity: critical\n    paths: ["{tree}/app"]\n    check: readonly\n');
  expect(sb.fim(['baseline']).code).toBe(0);
  sb.write('app/edit.py', 'v2');
  sb.write('app/new\nline.py', 'x');
  execFileSync('rm', [sb.path('app/gone.py')]);
  return sb;
}

describe('check --format ndjson', () => {
  it('streams one finding per line, then a summary; jq reads every line', async () => {
    await using sb = intruded();
    const r = sb.fim(['check', '--format', 'ndjson']);
    expect(r.code, r.stderr).toBe(1 | 2 | 4);
    const lines = r.stdout.trimEnd().split('\n');
    // jq parses the stream as it is: every line one document.
    const kinds = execFileSync('jq', ['-r', 'select(.type=="finding") | .kind + " " + .path'], {
      input: r.stdout,
      encoding: 'utf8',
    });
    expect(kinds.trimEnd().split('\n').sort()).toEqual(
      [
        `added ${sb.path('app/new\\nline.py')}`,
        `changed ${sb.path('app')}`,
        `changed ${sb.path('app/edit.py')}`,
        `removed ${sb.path('app/gone.py')}`,
      ].sort(),
    );
    const last = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(last).toMatchObject({
      type: 'summary',
      summary: { added: 1, removed: 1, changed: 2 },
      exit_code: 7,
    });
    const findings = lines
      .slice(0, -1)
      .map((l) => JSON.parse(l) as { id: number; run: number; observed: string });
    // Each streamed finding was journaled first: its id is in the database, under the run named.
    const db = new Database(sb.db, { readonly: true });
    const ids = (
      db.prepare('SELECT id FROM finding WHERE run = ?').all(findings[0]!.run) as { id: bigint | number }[]
    ).map((x) => Number(x.id));
    db.close();
    expect(findings.map((f) => f.id).sort()).toEqual(ids.sort());
    for (const f of findings) expect(Date.parse(f.observed)).toBeGreaterThan(0);
    expect(fim(['show', String(findings[0]!.run), ...sb.configArgs()]).stdout).toContain('edit.py');
  });

  it('a baseline edited by hand streams nothing and exits 18', async () => {
    await using sb = intruded();
    const db = new Database(sb.db);
    db.prepare(
      'UPDATE record SET mode = 2541 WHERE (dir, name) IN (SELECT dir, name FROM record WHERE type = 0 LIMIT 1)',
    ).run();
    db.close();
    for (const format of ['ndjson', 'ecs']) {
      const r = sb.fim(['check', '--format', format]);
      expect(r.code).toBe(18);
      expect(r.stdout).toBe('');
    }
  });

  it('refuses --json with another format, and an unknown format', async () => {
    await using sb = intruded();
    expect(sb.fim(['check', '--json', '--format', 'ecs']).stderr).toContain('--json is --format json');
    expect(sb.fim(['check', '--format', 'xml']).code).toBe(16);
  });
});

describe('check --format ecs', () => {
  it('writes one ECS document per finding, every field of the type the reference gives', async () => {
    await using sb = intruded();
    const r = sb.fim(['check', '--format', 'ecs']);
    expect(r.code, r.stderr).toBe(7);
    const docs = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(docs).toHaveLength(4);
    for (const d of docs) expectEcsTypes(d);
    const byPath = new Map(docs.map((d) => [(d['file'] as { path: string }).path, d]));
    const edit = flatten(byPath.get(sb.path('app/edit.py'))!);
    expect(edit).toMatchObject({
      'event.kind': 'alert',
      'event.type': ['change'],
      'event.action': 'file-changed',
      'file.type': 'file',
      'file.mode': '0644',
      'file.size': 2,
      'rule.name': 'app',
      'fim.severity': 'critical',
    });
    expect(flatten(byPath.get(sb.path('app/gone.py'))!)['event.type']).toEqual(['deletion']);
    expect(flatten(byPath.get(sb.path('app/new\\nline.py'))!)['event.type']).toEqual(['creation']);
  });
});

describe.runIf(LONG)('streaming in bounded memory (long lane)', () => {
  it('100,000 findings stream out under 120 MB', async () => {
    await using sb = new Sandbox('fim-formats-big-');
    const N = 100_000;
    for (let i = 0; i < N; i++) sb.write(`m/d${i % 500}/f${i}`, '');
    sb.policy('  - name: m\n    paths: ["{tree}/m"]\n    check: readonly\n');
    expect(sb.fim(['baseline', '-q'], { timeout: 300_000 }).code).toBe(0);
    const t = new Date('2020-01-01T00:00:00Z');
    for (let i = 0; i < N; i++) utimesSync(sb.path(`m/d${i % 500}/f${i}`), t, t);
    // The executable itself, with the launcher's memory flags, as users run it.
    const child = spawn(FIM, ['check', '--format', 'ndjson', ...sb.configArgs()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lines = 0;
    let tail = '';
    child.stdout.on('data', (d: Buffer) => {
      const s = tail + d.toString();
      const parts = s.split('\n');
      tail = parts.pop() ?? '';
      lines += parts.length;
    });
    let peakKb = 0;
    let done = false;
    const exited = new Promise<number>((r) =>
      child.on('exit', (code) => {
        done = true;
        r(code ?? -1);
      }),
    );
    while (!done) {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // exited between the check and the read
      }
      await delay(50); // sampling the peak is the test's subject
    }
    expect(await exited).toBe(4);
    expect(lines).toBe(N + 1); // every finding, then the summary
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb / 1024).toBeLessThan(120);
  }, 600_000);
});
