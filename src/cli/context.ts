/**
 * What every command needs before it starts: the configuration in force, the policy and the
 * database, built from the common options. Kept here so each command file stays a thin adapter.
 */
import type { Command } from 'commander';
import { type Config, resolveConfig } from '../config.js';
import { loadPolicies, type Policy } from '../policy/policy.js';
import { Store } from '../store/store.js';

export interface CommonOptions {
  config?: string;
  policy?: string[];
  db?: string;
  json?: boolean;
  quiet?: boolean;
}

export function loadConfig(o: CommonOptions): Config {
  return resolveConfig({
    ...(o.config !== undefined ? { config: o.config } : {}),
    ...(o.policy !== undefined ? { policy: o.policy } : {}),
    ...(o.db !== undefined ? { db: o.db } : {}),
  });
}

export function loadPolicy(cfg: Config): Policy {
  return loadPolicies(cfg.policies);
}

export function openStore(cfg: Config, create = false): Store {
  return Store.open(cfg.database, { create });
}

/** Where a command writes: stdout for results, stderr for diagnostics. */
export interface Output {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const stdio: Output = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

/** The options every command takes. */
export function withCommon(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'configuration file (default /etc/fim/fim.yaml)')
    .option('--policy <file>', "policy file; repeatable; replaces the configuration's list", collect)
    .option('--db <file>', 'database file (default from the configuration: /var/lib/fim/fim.db)')
    .option('--json', 'machine-readable output')
    .option('-q, --quiet', 'print nothing unless something is found');
}
