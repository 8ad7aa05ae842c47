import { diff } from '../api/diff.js';
import { UsageError } from '../errors.js';
import { checkToJson, checkToText } from '../report/report.js';
import { ecsFinding, ndjsonFinding, ndjsonSummary } from '../report/stream.js';
import { formatOf } from './cmd-check.js';
import { type CommonOptions, type Output, sessionOf } from './context.js';

function baselineId(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${what} must be a baseline id (1, 2, ...), not "${v}"`);
  return n;
}

/** `fim diff [A] [B]`: what changed between two baselines, in the formats of `fim check`. */
export async function diffCommand(
  a: string | undefined,
  b: string | undefined,
  o: CommonOptions & { format?: string },
  io: Output,
): Promise<number> {
  const format = formatOf(o);
  const from = baselineId(a, 'A');
  const to = baselineId(b, 'B');
  const lines = format === 'ndjson' || format === 'ecs';
  const report = diff({
    ...sessionOf(o),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(lines
      ? {
          onFinding: (j, f, ctx) =>
            io.out(`${format === 'ecs' ? ecsFinding(j, ctx, f, ctx.names) : ndjsonFinding(j, ctx)}\n`),
        }
      : {}),
  });
  if (format === 'json') io.out(`${checkToJson(report)}\n`);
  else if (format === 'ndjson') io.out(`${ndjsonSummary(report)}\n`);
  else if (format === 'text' && (!o.quiet || report.exitCode !== 0)) io.out(checkToText(report));
  return report.exitCode;
}
