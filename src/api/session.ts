/**
 * What every library call needs before it starts: the configuration in force (the file, with the
 * caller's overrides), the policy and the database. Owns nothing else; it never prints.
 */
import { type Config, resolveConfig } from '../config.js';
import { loadPolicies, type Policy } from '../policy/policy.js';
import { Store } from '../store/store.js';

/** Where the configuration, policies and database come from; every field is optional. */
export interface SessionOptions {
  /** Configuration file (default /etc/fim/fim.yaml). */
  config?: string;
  /** Policy files; replaces the configuration's list. */
  policy?: string[];
  /** Database file (default from the configuration). */
  db?: string;
  /** Where warnings go (keys about to expire); default: nowhere. */
  warn?: (message: string) => void;
}

export function loadConfig(o: SessionOptions): Config {
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
