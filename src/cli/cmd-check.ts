import { check } from '../api/check.js';
import { UsageError } from '../errors.js';
import { checkToJson, checkToText } from '../report/report.js';
import { ecsError, ecsFinding, ndjsonFinding, ndjsonSummary } from '../report/stream.js';
import { blockingStdout, type CommonOptions, type Output, sessionOf, stdio } from './context.js';
import { stdoutIsJournal } from './journal-stream.js';
import { progressReporter } from './progress.js';
import { pathArg } from './raw-argv.js';

export const FORMATS = ['text', 'json', 'ndjson', 'ecs'] as const;
export type Format = (typeof FORMATS)[number];

export interface CheckCliOptions extends CommonOptions {
  rule?: string[];
  minSeverity?: string;
  fast?: boolean;
  format?: string;
}

/** `--format`, with `--json` as its short form; the two must not disagree. */
export function formatOf(o: { json?: boolean; format?: string }): Format {
  const f = o.format ?? (o.json ? 'json' : 'text');
  if (!(FORMATS as readonly string[]).includes(f))
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  if (o.json && f !== 'json')
    throw new UsageError(`--json is --format json; it cannot go with --format ${f}`);
  return f as Format;
}

export async function checkCommand(paths: string[], o: CheckCliOptions, io: Output): Promise<number> {
  const format = formatOf(o);
  const streaming = format === 'ndjson' || format === 'ecs';
  // Lines of a streamed check come out of a synchronous scan: block on a slow reader.
  const line = io === stdio && streaming ? blockingStdout() : io.out;
  const progress = progressReporter(!o.quiet && format === 'text');
  try {
    const report = await check({
      ...sessionOf(o),
      paths: paths.map(pathArg),
      fast: o.fast ?? false,
      ...(o.rule ? { rules: o.rule } : {}),
      ...(o.minSeverity !== undefined ? { minSeverity: o.minSeverity } : {}),
      ...(progress.update ? { onProgress: progress.update, onTotals: progress.totals } : {}),
      ...(streaming
        ? {
            onFinding: (j, f, ctx) =>
              line(`${format === 'ecs' ? ecsFinding(j, ctx, f, ctx.names) : ndjsonFinding(j, ctx)}\n`),
          }
        : {}),
    });
    progress.done();
    if (format === 'json') io.out(`${checkToJson(report)}\n`);
    else if (format === 'ndjson') line(`${ndjsonSummary(report)}\n`);
    else if (format === 'ecs') {
      const ctx = { host: report.host, run: report.run ?? 0, baseline: report.baseline };
      for (const e of report.errors) line(`${ecsError(e, ctx, report.finishedNs)}\n`);
    } else if (format === 'text' && (!o.quiet || report.exitCode !== 0))
      io.out(checkToText(report, { priorities: io === stdio && stdoutIsJournal() }));
    return report.exitCode;
  } finally {
    progress.done();
  }
}
