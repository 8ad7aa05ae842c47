/**
 * Run the real CLI as a child process against real temp trees. No mocks: every e2e test goes
 * through bin/fim, the built dist/, a real SQLite file and the real file system.
 */
import { type SpawnSyncOptions, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const FIM = join(ROOT, 'bin', 'fim');

export interface FimResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function fim(args: readonly string[], opts: SpawnSyncOptions = {}): FimResult {
  const r = spawnSync(process.execPath, [FIM, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 1 << 28,
    ...opts,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Like `fim`, without blocking this process's event loop (for servers running inside the test). */
export function fimAsync(args: readonly string[]): Promise<FimResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIM, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Start fim without waiting (for kill -9 and daemon tests). */
export function fimSpawn(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  return spawn(process.execPath, [FIM, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
}

/** The rules the intrusion tests (check and watch) share: code, keys and a growing log. */
export const CLASSIC_RULES = `  - name: code
    severity: high
    paths: ["{tree}/app"]
    check: readonly
  - name: keys
    severity: critical
    paths: ["{tree}/keys"]
    check: readonly
  - name: logs
    severity: low
    paths: ["{tree}/logs"]
    check: growing
`;

/** A temp directory with a tree, a policy and a database; disposable (`await using`), or `cleanup()`. */
export class Sandbox {
  readonly dir: string;
  readonly tree: string;
  readonly db: string;
  policyFile: string;

  constructor(prefix = 'fim-test-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.tree = join(this.dir, 'tree');
    mkdirSync(this.tree);
    this.db = join(this.dir, 'fim.db');
    this.policyFile = join(this.dir, 'policy.yaml');
  }

  path(...parts: string[]): string {
    return join(this.tree, ...parts);
  }

  write(rel: string, content: string | Buffer): string {
    const p = this.path(rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, content);
    return p;
  }

  /** Write a policy; `rules` is YAML for the list items, with {tree} replaced by the tree path. */
  policy(rulesYaml: string): string {
    writeFileSync(this.policyFile, `version: 1\nrules:\n${rulesYaml.replaceAll('{tree}', this.tree)}`);
    return this.policyFile;
  }

  /**
   * Run fim with this sandbox's policy and database, through a configuration file (every command
   * takes --config; --policy and --db only where they apply).
   */
  fim(args: readonly string[], opts: SpawnSyncOptions = {}): FimResult {
    return fim([...args, ...this.configArgs()], opts);
  }

  /** `--config FILE` naming this sandbox's policy and database (written anew: policyFile may change). */
  configArgs(): string[] {
    const config = join(this.dir, 'sandbox-fim.yaml');
    writeFileSync(
      config,
      `policies: [${JSON.stringify(this.policyFile)}]\ndatabase: ${JSON.stringify(this.db)}\n`,
    );
    return ['--config', config];
  }

  /** `fim check --json`, parsed. */
  check(extra: readonly string[] = []): { code: number; report: CheckJson; stderr: string } {
    const r = this.fim(['check', '--json', ...extra]);
    let report: CheckJson;
    try {
      report = JSON.parse(r.stdout) as CheckJson;
    } catch {
      throw new Error(`check did not print JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
    return { code: r.code, report, stderr: r.stderr };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** `using sb = new Sandbox()`: removed when the block ends, whatever the test did. */
  [Symbol.dispose](): void {
    this.cleanup();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.cleanup();
  }
}

export interface CheckJson {
  version: number;
  host: string;
  run: number;
  baseline: { id: number; created: string; label: string; root: string };
  summary: { scanned: number; added: number; removed: number; changed: number; errors: number };
  findings: {
    id: number;
    kind: 'added' | 'removed' | 'changed';
    path: string;
    path_b64: string;
    rule: string;
    severity: string;
    changes?: { attribute: string; old: unknown; new: unknown }[];
    attributes?: Record<string, unknown>;
  }[];
  errors: { path: string; path_b64: string; code: string; message: string }[];
  notes: string[];
}
