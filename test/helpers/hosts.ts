/**
 * Hosts of their own in one sandbox, for the tests where several hosts' signed messages meet at
 * one log server: each under `sb.path(name)`, with one file, a readonly policy over it, a fim.yaml
 * (database and keys beside it, alerts over UDP to `port`), its keys and a first baseline.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fim, type Sandbox } from './fim.js';

export interface SignedHost {
  /** The host's directory. */
  dir: string;
  config: string;
  /** Its enrolment public key (`keys/<name>.pub`). */
  pub: string;
}

export function signedHost(
  sb: Sandbox,
  name: string,
  o: { port: number; keygen?: readonly string[]; maxPerSecond?: number },
): SignedHost {
  sb.write(`${name}/app/a.py`, 'a');
  const dir = sb.path(name);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    `version: 1\nrules:\n  - name: app\n    paths: ["${sb.path(name, 'app')}"]\n    check: readonly\n`,
  );
  const config = join(dir, 'fim.yaml');
  const rate = o.maxPerSecond === undefined ? '' : `, max_per_second: ${o.maxPerSecond}`;
  writeFileSync(
    config,
    [
      `host: ${name}`,
      `policies: [${JSON.stringify(policy)}]`,
      `database: ${JSON.stringify(join(dir, 'fim.db'))}`,
      `keys: ${JSON.stringify(join(dir, 'keys'))}`,
      `syslog: { target: "udp://127.0.0.1:${o.port}"${rate} }`,
      'watch: { heartbeat: 1s }',
      '',
    ].join('\n'),
  );
  for (const args of [
    ['keygen', '-q', ...(o.keygen ?? [])],
    ['baseline', '-q'],
  ]) {
    const r = fim([...args, '--config', config]);
    if (r.code !== 0) throw new Error(`fim ${args[0]} for ${name} failed (${r.code}): ${r.stderr}`);
  }
  return { dir, config, pub: join(dir, 'keys', `${name}.pub`) };
}
