/**
 * `manifestKeygen()` and `manifestCreate()`: what the build side of a deploy runs. A deploy key
 * pair (the private half stays with the build; hosts trust the public half in
 * `explain.deploy_keys`), and a signed manifest of the directory as it will be on the hosts.
 */
import { createManifest, deployKeygen } from '../explain/deploy.js';
import { nsToIso } from '../ns-time.js';

export function manifestKeygen(o: { file: string; force?: boolean }): { priv: string; pub: string } {
  return deployKeygen(o.file, o.force ?? false);
}

export function manifestCreate(o: {
  dir: string;
  /** The path the files will have on the hosts (default: `dir`). */
  as?: string;
  keyFile: string;
  name: string;
  version: string;
  out: string;
}): { files: number; out: string } {
  return createManifest({ ...o, nowIso: nsToIso(BigInt(Date.now()) * 1_000_000n).replace(/\.\d+Z$/, 'Z') });
}
