/**
 * What every command shares: the common options, where output goes, and the option helpers. The
 * commands are thin adapters over the library API (src/api/), which loads configuration, policy
 * and database.
 */
import type { Command } from 'commander';
import type { SessionOptions } from '../api/session.js';
import type { Output } from '../types.js';

export interface CommonOptions {
  config?: string;
  policy?: string[];
  db?: string;
  json?: boolean;
  quiet?: boolean;
}

/** The session part of the common options: where configuration, policies and database come from. */
export function sessionOf(o: CommonOptions): SessionOptions {
  return {
    ...(o.config !== undefined ? { config: o.config } : {}),
    ...(o.policy !== undefined ? { policy: o.policy } : {}),
    ...(o.db !== undefined ? { db: o.db } : {}),
  };
}

export type { Output } from '../types.js';

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
