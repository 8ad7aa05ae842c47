import { baseline } from '../api/baseline.js';
import { displayBytes, safeMessage } from '../display.js';
import { baselineJson, errorToJson } from '../report/report.js';
import { type CommonOptions, type Output, sessionOf } from './context.js';
import { progressReporter } from './progress.js';

export async function baselineCommand(o: CommonOptions & { label?: string }, io: Output): Promise<number> {
  const progress = progressReporter(!o.quiet && !o.json);
  try {
    const r = await baseline({
      ...sessionOf(o),
      ...(o.label !== undefined ? { label: o.label } : {}),
      ...(progress.update ? { onProgress: progress.update } : {}),
    });
    progress.done();
    const secs = r.elapsedMs / 1000;
    if (o.json) {
      io.out(
        `${JSON.stringify(
          {
            version: 1,
            host: r.host,
            baseline: baselineJson(r.meta),
            files: r.meta.files,
            bytes: Number(r.stats.bytes),
            seconds: Number(secs.toFixed(3)),
            errors: r.errors.map(errorToJson),
            missing: r.missing.map((m) => ({ path: displayBytes(m.path), rule: m.rule })),
          },
          null,
          2,
        )}\n`,
      );
    } else if (!o.quiet) {
      const mb = Number(r.stats.bytes) / 1e6;
      io.out(
        `baseline ${r.meta.id} "${r.meta.label}": ${r.meta.files} entries, ${r.stats.files} files, ${mb.toFixed(1)} MB in ${secs.toFixed(2)} s (${(mb / Math.max(secs, 1e-3)).toFixed(0)} MB/s)\n`,
      );
      io.out(
        `root ${r.meta.root.toString('hex')}${r.signed ? ' (signed)' : ' (unsigned: no keys; run "fim keygen")'}\n`,
      );
      for (const m of r.missing)
        io.err(`note: rule "${m.rule}": path ${displayBytes(m.path)} does not exist\n`);
      for (const e of r.errors)
        io.err(`error: ${e.code} ${displayBytes(e.path)}: ${safeMessage(e.message)}\n`);
    }
    return r.exitCode;
  } finally {
    progress.done();
  }
}
