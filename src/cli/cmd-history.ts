import { history, showRun } from '../api/history.js';
import { displayBytes } from '../display.js';
import { ExitCode, UsageError } from '../errors.js';
import { nsToIso } from '../ns-time.js';
import { type CommonOptions, type Output, sessionOf } from './context.js';

export async function historyCommand(o: CommonOptions & { limit?: string }, io: Output): Promise<number> {
  const limit = Number(o.limit ?? 20);
  if (!Number.isInteger(limit) || limit <= 0) throw new UsageError('--limit must be a positive integer');
  const runs = history({ ...sessionOf(o), limit });
  if (o.json) {
    io.out(
      `${JSON.stringify(
        runs.map((r) => ({
          ...r,
          startedNs: undefined,
          finishedNs: undefined,
          started: nsToIso(r.startedNs),
        })),
        null,
        2,
      )}\n`,
    );
    return ExitCode.ok;
  }
  io.out(
    'run   kind   started                         baseline  scanned  added removed changed errors exit\n',
  );
  for (const r of runs) {
    io.out(
      `${String(r.id).padEnd(5)} ${r.kind.padEnd(6)} ${nsToIso(r.startedNs).padEnd(31)} ${String(r.baseline ?? '-').padEnd(9)} ${String(r.scanned).padStart(7)}  ${String(r.added).padStart(5)} ${String(r.removed).padStart(7)} ${String(r.changed).padStart(7)} ${String(r.errors).padStart(6)} ${r.exitCode ?? '-'}\n`,
    );
  }
  return ExitCode.ok;
}

export async function showCommand(runArg: string, o: CommonOptions, io: Output): Promise<number> {
  const id = Number(runArg);
  if (!Number.isInteger(id)) throw new UsageError(`no run ${runArg}; see "fim history"`);
  const { run, findings: raw, errors: rawErrors } = showRun({ ...sessionOf(o), run: id });
  const findings = raw;
  const errors = rawErrors.map((e) => ({
    path: displayBytes(e.path),
    path_b64: e.path.toString('base64'),
    code: e.code,
    message: e.message,
  }));
  if (o.json) {
    io.out(
      `${JSON.stringify({ run: { ...run, startedNs: undefined, finishedNs: undefined, started: nsToIso(run.startedNs) }, findings, errors }, null, 2)}\n`,
    );
    return ExitCode.ok;
  }
  io.out(
    `run ${run.id} (${run.kind}) started ${nsToIso(run.startedNs)} against baseline ${run.baseline}; exit ${run.exitCode}\n`,
  );
  for (const f of findings as unknown as {
    id: number;
    kind: string;
    path: string;
    rule: string;
    severity: string;
    changes?: { attribute: string; old: unknown; new: unknown }[];
  }[]) {
    io.out(`  #${f.id} ${f.kind.padEnd(8)} ${f.path}  [${f.rule}, ${f.severity}]\n`);
    for (const c of f.changes ?? [])
      io.out(`           ${c.attribute}  ${String(c.old)} -> ${String(c.new)}\n`);
  }
  for (const e of errors) io.out(`  error ${e.code} ${e.path}: ${e.message}\n`);
  return ExitCode.ok;
}
