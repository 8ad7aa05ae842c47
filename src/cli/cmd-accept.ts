import { resolve } from 'node:path';
import { displayBytes } from '../display.js';
import { loadKeyStore, openAlerter, rootSigner, rootVerifier, sendAndClose } from '../evidence.js';
import { acceptFindings } from '../ops/accept.js';
import { baselineJson } from '../report/report.js';
import { type CommonOptions, loadConfig, type Output, openStore } from './context.js';

export async function acceptCommand(
  paths: string[],
  o: CommonOptions & { all?: boolean; label?: string },
  io: Output,
): Promise<number> {
  const cfg = loadConfig(o);
  const keys = loadKeyStore(cfg);
  const sign = rootSigner(keys);
  const store = openStore(cfg);
  try {
    const r = acceptFindings({
      store,
      verifySignature: rootVerifier(cfg),
      ...(sign ? { sign } : {}),
      paths: paths.map((p) => Buffer.from(resolve(p))),
      all: o.all ?? false,
      ...(o.label ? { label: o.label } : {}),
    });
    await sendAndClose(openAlerter(cfg, keys, store), [
      { type: 'accept', root: r.meta.root.toString('hex'), accepted: r.accepted.length },
    ]);
    if (o.json) {
      io.out(
        `${JSON.stringify(
          {
            version: 1,
            baseline: baselineJson(r.meta),
            previous: baselineJson(r.previous),
            run: r.run,
            accepted: r.accepted.map((f) => ({
              kind: f.kind,
              path: displayBytes(f.path),
              path_b64: f.path.toString('base64'),
              rule: f.rule,
            })),
          },
          null,
          2,
        )}\n`,
      );
    } else if (!o.quiet) {
      for (const f of r.accepted) io.out(`accepted ${f.kind.padEnd(8)} ${displayBytes(f.path)}\n`);
      io.out(`baseline ${r.meta.id} (from ${r.previous.id}): root ${r.meta.root.toString('hex')}\n`);
    }
    return 0;
  } finally {
    store.close();
  }
}
