import { check } from '../api/check.js';
import { checkToJson, checkToText } from '../report/report.js';
import { type CommonOptions, type Output, sessionOf, stdio } from './context.js';
import { stdoutIsJournal } from './journal-stream.js';
import { progressReporter } from './progress.js';

export interface CheckCliOptions extends CommonOptions {
  rule?: string[];
  minSeverity?: string;
  fast?: boolean;
}

export async function checkCommand(paths: string[], o: CheckCliOptions, io: Output): Promise<number> {
  const progress = progressReporter(!o.quiet && !o.json);
  try {
    const report = await check({
      ...sessionOf(o),
      paths,
      fast: o.fast ?? false,
      ...(o.rule ? { rules: o.rule } : {}),
      ...(o.minSeverity !== undefined ? { minSeverity: o.minSeverity } : {}),
      ...(progress.update ? { onProgress: progress.update, onTotals: progress.totals } : {}),
    });
    progress.done();
    if (o.json) io.out(`${checkToJson(report)}\n`);
    else if (!o.quiet || report.exitCode !== 0)
      io.out(checkToText(report, { priorities: io === stdio && stdoutIsJournal() }));
    return report.exitCode;
  } finally {
    progress.done();
  }
}
