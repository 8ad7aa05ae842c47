import { resolve } from 'node:path';
import { manifestCreate, manifestKeygen } from '../api/manifest.js';
import { ExitCode, UsageError } from '../errors.js';
import type { Output } from './context.js';

export async function manifestKeygenCommand(
  file: string,
  o: { force?: boolean },
  io: Output,
): Promise<number> {
  const r = manifestKeygen({ file: resolve(file), force: o.force ?? false });
  io.out(`deploy key: ${r.priv} (keep it with the build, never on the hosts)\n`);
  io.out(`public key: ${r.pub} (list it in explain.deploy_keys on each host)\n`);
  return ExitCode.ok;
}

export async function manifestCreateCommand(
  dir: string,
  o: { key?: string; name?: string; release?: string; output?: string; as?: string },
  io: Output,
): Promise<number> {
  for (const [flag, v] of [
    ['--key', o.key],
    ['--name', o.name],
    ['--release', o.release],
    ['--output', o.output],
  ] as const)
    if (v === undefined) throw new UsageError(`fim manifest create needs ${flag}`);
  const r = manifestCreate({
    dir: resolve(dir),
    ...(o.as !== undefined ? { as: o.as } : {}),
    keyFile: resolve(o.key!),
    name: o.name!,
    version: o.release!,
    out: resolve(o.output!),
  });
  io.out(
    `manifest ${r.out}: ${r.files} files of ${resolve(dir)}${o.as !== undefined ? ` as ${o.as}` : ''}, ${o.name} ${o.release}, signed\n`,
  );
  return ExitCode.ok;
}
