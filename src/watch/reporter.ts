/**
 * Findings out of the daemon, in their one order: diff a scan's results with the open findings,
 * journal what the diff decided (src/ops/journal.ts, one transaction), take it into the open set,
 * and only then log and alert it. Once the journal has committed, nothing that follows can lose a
 * finding; an alert names the journal id of its finding.
 *
 * What it owns: that order, the open set it diffs against, and the wording of finding, resolution
 * and scan-error lines.
 *
 * What it must not do: write the database except through the journal, decide what is new (the
 * diff does), or scan.
 */
import { type Alerter, findingEvent } from '../alert/index.js';
import { displayBytes, safeMessage, whoText } from '../display.js';
import type { RunJournal } from '../ops/journal.js';
import { keyToPath } from '../path-key.js';
import { explanationText, findingToJson, SEVERITY_PRIORITY } from '../report/report.js';
import type { Who } from '../types.js';
import { type Logger, Pri } from './log.js';
import {
  diffOpenFindings,
  type FindingsDiff,
  journalsNothing,
  OpenFindings,
  type ScanOutcome,
} from './open-findings.js';
import { StormHold, type StormOptions, type StormSummary } from './storms.js';

export interface ReporterOptions {
  log: Logger;
  alerter: Alerter | null;
  /** A file still being written: rescan it (deep) once quiet. */
  retry: (path: Buffer) => void;
  /** Files the daemon covers now (the run's `scanned`). */
  files: () => number;
  /** Test hook: the storm windows (storms.ts). */
  storms?: StormOptions;
  /** The process behind the latest change at a path, where the watcher could tell (fanotify). */
  who?: (path: Buffer) => Who | undefined;
}

export class FindingReporter {
  readonly open = new OpenFindings();
  /** The daemon's run; replaced when a new baseline is adopted. */
  journal: RunJournal | null = null;

  /** Alerts of signed-explained findings, held until their deploy has finished (storms.ts). */
  private readonly storms: StormHold;

  constructor(private readonly o: ReporterOptions) {
    this.storms = new StormHold(
      {
        finding: (f, id) => o.alerter?.send(findingEvent(f, id)),
        summary: (s) => this.summary(s),
      },
      o.storms,
    );
  }

  /**
   * Drop the open findings whose paths `gone` says are no longer covered (after a reload), journaled
   * as no longer reported, without a "back to baseline" line: the caller says they are unwatched.
   */
  unmonitor(gone: (path: Buffer) => boolean): Buffer[] {
    const keys = [...this.open.keys()].map((k) => Buffer.from(k, 'latin1')).filter((k) => gone(keyToPath(k)));
    if (keys.length === 0) return [];
    if (!this.journal) throw new Error('FindingReporter: no run to journal in');
    this.journal.record({ fresh: [], same: [], resolved: keys, errors: [], scanned: this.o.files() });
    this.open.apply(
      {
        fresh: [],
        same: [],
        resolved: keys,
        freshErrors: [],
        clearedErrors: [],
        retry: [],
        unstable: new Map(),
      },
      [],
      Date.now(),
    );
    return keys.map(keyToPath);
  }

  /** Journal, then log and alert, what a scan found; returns the number of new findings. */
  handle(scan: ScanOutcome): number {
    const d = diffOpenFindings(this.open, scan);
    for (const p of d.retry) this.o.retry(p);
    if (journalsNothing(d)) {
      this.open.apply(d, [], Date.now());
      return 0;
    }
    if (!this.journal) throw new Error('FindingReporter: no run to journal in');
    // Who made the change, where the watcher could tell; an open finding seen again takes its latest.
    for (const x of [...d.fresh, ...d.same]) x.finding.who ??= this.o.who?.(x.finding.path);
    // The journal first: once this transaction commits, nothing that follows can lose a finding.
    const ids = this.journal.record({
      fresh: d.fresh,
      same: d.same,
      resolved: d.resolved,
      errors: d.freshErrors,
      scanned: this.o.files(),
    });
    this.open.apply(d, ids, Date.now());
    this.report(d, ids, scan.why);
    return d.fresh.length;
  }

  /** Alerts held for a deploy's storm go out now (before the daemon's stop event). */
  flushHeld(): void {
    this.storms.flush();
  }

  private report(d: FindingsDiff, ids: readonly number[], why: string): void {
    const { log, alerter } = this.o;
    d.fresh.forEach((x, i) => {
      const id = ids[i]!;
      const j = findingToJson(x.finding);
      const attrs = j.changes ? ` (${j.changes.map((c) => c.attribute).join(', ')})` : '';
      const expl = explanationText(j);
      // journald priority from severity, as for `fim check` (journalctl -p err shows high and critical).
      log(
        SEVERITY_PRIORITY[x.finding.severity],
        `${x.finding.kind} ${j.path}${attrs} rule=${x.finding.rule} severity=${x.finding.severity} journal=${id} [${why}]${expl ? `; ${expl}` : ''}${x.finding.who ? `; by ${whoText(x.finding.who)}` : ''}`,
      );
      if (!this.storms.offer(x.finding, id)) alerter?.send(findingEvent(x.finding, id));
    });
    for (const key of d.resolved) log(Pri.info, `back to baseline: ${displayBytes(keyToPath(key))}`);
    for (const e of d.freshErrors) {
      log(Pri.err, `cannot check ${displayBytes(e.path)}: ${e.code} ${safeMessage(e.message)}`);
      alerter?.send({ type: 'error', code: e.code, message: e.message, path: e.path });
    }
  }

  private summary(s: StormSummary): void {
    const e = s.explanation;
    const first = s.ids[0] ?? 0;
    const last = s.ids.at(-1) ?? 0;
    this.o.log(
      Pri.notice,
      `deploy ${e.package}${e.version ? ` ${e.version}` : ''}: ${s.ids.length} changes explained by signed manifest ${displayBytes(e.manifest)} (journal ${first}..${last}); ${s.unexplained} not explained`,
    );
    this.o.alerter?.send({
      type: 'explained',
      manifest: e.manifest,
      package: e.package,
      version: e.version,
      explained: s.ids.length,
      unexplained: s.unexplained,
      firstJournalId: first,
      lastJournalId: last,
    });
  }
}
