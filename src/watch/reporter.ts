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
import type { Explanation, Finding, Who } from '../types.js';
import { type Logger, Pri } from './log.js';
import {
  diffOpenFindings,
  type FindingsDiff,
  journalsNothing,
  OpenFindings,
  type ScanOutcome,
} from './open-findings.js';

export interface ReporterOptions {
  log: Logger;
  alerter: Alerter | null;
  /** A file still being written: rescan it (deep) once quiet. */
  retry: (path: Buffer) => void;
  /** Files the daemon covers now (the run's `scanned`). */
  files: () => number;
  /** The process behind the latest change at a path, where the watcher could tell (fanotify). */
  who?: (path: Buffer) => Who | undefined;
}

export class FindingReporter {
  readonly open = new OpenFindings();
  /** The daemon's run; replaced when a new baseline is adopted. */
  journal: RunJournal | null = null;

  constructor(private readonly o: ReporterOptions) {}

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

  private report(d: FindingsDiff, ids: readonly number[], why: string): void {
    const { log, alerter } = this.o;
    const storms = deployStorms(d.fresh.map((x) => x.finding));
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
      const storm = storms.get(i);
      if (storm) storm.ids.push(id);
      else alerter?.send(findingEvent(x.finding, id));
    });
    for (const s of new Set(storms.values())) {
      const e = s.explanation;
      const msg = `deploy ${e.package}${e.version ? ` ${e.version}` : ''}: ${s.ids.length} changes explained by signed manifest ${displayBytes(e.manifest)} (journal ${s.ids[0]}..${s.ids.at(-1)}); ${s.unexplained} not explained`;
      log(Pri.notice, msg);
      alerter?.send({
        type: 'explained',
        manifest: e.manifest,
        package: e.package,
        version: e.version,
        explained: s.ids.length,
        unexplained: s.unexplained,
        firstJournalId: s.ids[0] ?? 0,
        lastJournalId: s.ids.at(-1) ?? 0,
      });
    }
    for (const key of d.resolved) log(Pri.info, `back to baseline: ${displayBytes(keyToPath(key))}`);
    for (const e of d.freshErrors) {
      log(Pri.err, `cannot check ${displayBytes(e.path)}: ${e.code} ${safeMessage(e.message)}`);
      alerter?.send({ type: 'error', code: e.code, message: e.message, path: e.path });
    }
  }
}

/** A deploy's storm: at least this many findings of one scan explained by one signed manifest. */
export const STORM_MIN = 20;

interface Storm {
  explanation: Explanation;
  ids: number[];
  unexplained: number;
}

/**
 * Which fresh findings (by index) make a deploy's storm: STORM_MIN or more whose new content one
 * signed deploy manifest lists. Only signed manifests: a RECORD or md5sums is the intruder's to
 * write, so findings they explain are always alerted one by one; and findings the deploy does not
 * explain (other bytes, not shipped) always are too, whatever the storm.
 */
export function deployStorms(findings: readonly Finding[]): Map<number, Storm> {
  const groups = new Map<string, { storm: Storm; members: number[] }>();
  findings.forEach((f, i) => {
    const e = f.explanation;
    if (e?.source !== 'deploy') return;
    const k = e.manifest.toString('latin1');
    let g = groups.get(k);
    if (!g) {
      g = { storm: { explanation: e, ids: [], unexplained: 0 }, members: [] };
      groups.set(k, g);
    }
    if (e.verdict === 'matches') g.members.push(i);
    else g.storm.unexplained++;
  });
  const out = new Map<number, Storm>();
  for (const g of groups.values()) {
    if (g.members.length < STORM_MIN) continue;
    for (const i of g.members) out.set(i, g.storm);
  }
  return out;
}
