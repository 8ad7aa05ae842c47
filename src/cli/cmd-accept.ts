import { accept } from '../api/accept.js';
import { displayBytes } from '../display.js';
import { ExitCode } from '../errors.js';
import { baselineJson } from '../report/report.js';
import { type CommonOptions, type Output, sessionOf } from './context.js';
import { pathArg } from './raw-argv.js';

export async function acceptCommand(
  paths: string[],
  o: CommonOptions & { all?: boolean; label?: string },
  io: Output,
): Promise<number> {
  const r = await accept({
    ...sessionOf(o),
    paths: paths.map(pathArg),
    all: o.all ?? false,
    ...(o.label ? { label: o.label } : {}),
  });
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
  return ExitCode.ok;
}
