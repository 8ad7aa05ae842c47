import { accept, explainedStrength } from '../api/accept.js';
import { displayBytes } from '../display.js';
import { ExitCode, UsageError } from '../errors.js';
import { baselineJson } from '../report/report.js';
import type { StoredFinding } from '../store/store.js';
import { STRENGTHS, type Strength } from '../types.js';
import { type CommonOptions, type Output, sessionOf } from './context.js';
import { pathArg } from './raw-argv.js';

const short = (f: StoredFinding) => ({
  kind: f.kind,
  path: displayBytes(f.path),
  path_b64: f.path.toString('base64'),
  rule: f.rule,
  ...(explainedStrength(f) ? { explained: explainedStrength(f) } : {}),
});

const leftWhy = (f: StoredFinding) => {
  const s = explainedStrength(f);
  return s ? `explained only as ${s}` : 'not explained';
};

export async function acceptCommand(
  paths: string[],
  o: CommonOptions & { all?: boolean; explained?: boolean; minStrength?: string; label?: string },
  io: Output,
): Promise<number> {
  if (o.minStrength !== undefined && !o.explained)
    throw new UsageError('--min-strength goes with --explained');
  const min = o.minStrength ?? 'pip-record';
  if (!(STRENGTHS as readonly string[]).includes(min))
    throw new UsageError(`--min-strength must be one of ${STRENGTHS.join(', ')}`);
  const r = await accept({
    ...sessionOf(o),
    paths: paths.map(pathArg),
    all: o.all ?? false,
    ...(o.explained ? { explained: min as Strength } : {}),
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
          accepted: r.accepted.map(short),
          ...(o.explained ? { left: r.left.map(short) } : {}),
        },
        null,
        2,
      )}\n`,
    );
  } else if (!o.quiet) {
    for (const f of r.accepted) io.out(`accepted ${f.kind.padEnd(8)} ${displayBytes(f.path)}\n`);
    for (const f of r.left) io.out(`left     ${f.kind.padEnd(8)} ${displayBytes(f.path)} (${leftWhy(f)})\n`);
    io.out(`baseline ${r.meta.id} (from ${r.previous.id}): root ${r.meta.root.toString('hex')}\n`);
  }
  return ExitCode.ok;
}
