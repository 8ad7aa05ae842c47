/**
 * From runs to numbers: medians per case, the references, the ratios of every fim case to each
 * reference, the targets, what the tools said when they failed; and the text tables.
 */
import { FIM_CASES, REFS } from './cases.mjs';
import { median } from './run.mjs';

// Issue 20's targets (warm cache, ratios from the same interleaved run, scale-1 sample tree and
// /usr); database bytes per entry is issue 7's and still holds.
export const TARGET = {
  baselineVsB3: 1.2,
  checkVsB3: 1.3,
  fastVsB3: 0.5,
  rssMB: 120,
  dbBytesPerFile: 150,
};

export function fmt(n, digits = 0) {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function table(headers, rows, rightFrom = 1) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) =>
    r
      .map((c, i) => (i < rightFrom ? String(c).padEnd(w[i]) : String(c).padStart(w[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

/** Per case and mode: medians and rates from the runs. `partial` codes count as ran. */
export function summarize(cases, byMode, m) {
  const results = [];
  for (const [mode, runsById] of byMode) {
    for (const c of cases) {
      const runs = runsById.get(c.id);
      const res = { id: c.id, label: c.label, mode, ref: c.ref ?? null, argv: c.argv, runs };
      res.seconds = median(runs.map((r) => r.seconds));
      res.rssMB = (median(runs.map((r) => r.rssKB)) * 1024) / 1e6;
      res.ok = runs.every((r) => r.status === 'ok');
      // Ran to the end in every round (maybe finding changes, maybe with unreadable entries).
      res.ran = runs.every((r) => r.status !== 'failed');
      res.filesPerSec = m.files / res.seconds;
      res.mbPerSec = m.bytes / 1e6 / res.seconds;
      const last = runs.at(-1);
      if (last.dbBytes && last.entries) res.dbBytesPerFile = last.dbBytes / last.entries;
      if (last.entries !== undefined) res.entries = last.entries;
      results.push(res);
    }
  }
  return results;
}

/** The three references of a mode: b3sum on one core, the faster way of b3sum on all cores, the stat walk. */
export function references(results, mode) {
  const inMode = results.filter((r) => r.mode === mode && r.ran);
  const out = {};
  for (const { id } of REFS) {
    const cands = inMode.filter((r) => r.id === id || r.ref === id);
    if (!cands.length) continue;
    const best = cands.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    out[id] = {
      seconds: best.seconds,
      caseId: best.id,
      label: best.label,
      rounds: best.runs.map((r) => r.seconds),
    };
  }
  return out;
}

/**
 * Every fim case against every reference, in each mode: the ratio of the medians (shown), and the
 * ratio within each round (JSON), which cancels drift that hit both commands of a round alike.
 */
export function ratios(results, modes) {
  const rows = [];
  for (const mode of modes) {
    const refs = references(results, mode);
    for (const id of FIM_CASES) {
      const r = results.find((x) => x.id === id && x.mode === mode);
      if (!r) continue;
      const row = { id, label: r.label, mode, seconds: r.seconds, rssMB: r.rssMB, vs: {} };
      for (const { id: refId } of REFS) {
        const ref = refs[refId];
        if (!ref) continue;
        row.vs[refId] = {
          ratio: r.seconds / ref.seconds,
          perRound: r.runs.map((x, i) => (ref.rounds[i] ? x.seconds / ref.rounds[i] : null)),
          refCase: ref.caseId,
        };
      }
      rows.push(row);
    }
  }
  return rows;
}

export function targets(results, ratioRows) {
  const warm = (id) => ratioRows.find((r) => r.id === id && r.mode === 'warm');
  const out = [];
  const add = (name, value, limit, unit) =>
    out.push({ name, value, limit, unit, met: value === undefined ? null : value <= limit });
  const vsB3 = (id) => warm(id)?.vs['b3sum-1t']?.ratio;
  if (warm('fim-baseline'))
    add('fim baseline ÷ b3sum 1 thread', vsB3('fim-baseline'), TARGET.baselineVsB3, '×');
  if (warm('fim-check')) add('fim check ÷ b3sum 1 thread', vsB3('fim-check'), TARGET.checkVsB3, '×');
  if (warm('fim-check-fast'))
    add('fim check --fast ÷ b3sum 1 thread', vsB3('fim-check-fast'), TARGET.fastVsB3, '×');
  const fimWarm = results.filter((r) => r.mode === 'warm' && FIM_CASES.includes(r.id));
  if (fimWarm.length)
    add('fim peak RSS (largest fim case)', Math.max(...fimWarm.map((r) => r.rssMB)), TARGET.rssMB, 'MB');
  const b = results.find((r) => r.id === 'fim-baseline' && r.mode === 'warm');
  if (b?.dbBytesPerFile)
    add('database bytes per entry (issue 7)', b.dbBytesPerFile, TARGET.dbBytesPerFile, 'B');
  return out;
}

/**
 * What each tool said when it did not simply exit 0: exit codes, its distinct stderr lines (and
 * stdout's tail for AIDE and Tripwire, which report there), fim's unreadable entries.
 */
export function diagnostics(results) {
  const out = [];
  const byId = new Map();
  for (const r of results)
    byId.set(r.id, [...(byId.get(r.id) ?? []), ...r.runs.map((x) => ({ ...x, mode: r.mode }))]);
  for (const [id, runs] of byId) {
    const label = results.find((r) => r.id === id).label;
    const codes = [...new Set(runs.map((r) => r.code))];
    const lines = new Set();
    for (const r of runs) {
      for (const l of `${r.stderr ?? ''}`.split('\n')) if (l.trim()) lines.add(l.trim());
      if (r.code !== 0 && !id.startsWith('fim'))
        for (const l of `${r.stdout ?? ''}`.split('\n').slice(-5)) if (l.trim()) lines.add(l.trim());
    }
    const fimErr = runs.find((r) => r.errors);
    if (codes.length === 1 && codes[0] === 0 && !lines.size && !fimErr) continue;
    out.push({
      id,
      label,
      exitCodes: codes,
      statusOf: Object.fromEntries(runs.map((r) => [r.code, r.status])),
      messages: [...lines].slice(0, 8),
      moreMessages: Math.max(0, lines.size - 8),
      ...(fimErr ? { unreadable: fimErr.errors, unreadableSample: fimErr.errorSample } : {}),
    });
  }
  return out;
}

export const STATUS = {
  ok: 'ok',
  changes: 'ran; found changes',
  partial: 'ran; could not read everything',
  failed: 'FAILED',
};

/** "exit 8 (ran; could not read everything)", per distinct code of the rounds. */
function exitNote(runs) {
  const seen = new Map();
  for (const r of runs) if (r.code !== 0) seen.set(r.code, r.status);
  return [...seen].map(([code, st]) => `exit ${code} (${STATUS[st]})`).join(', ');
}

/** The main table: every command, its rates, and its time ÷ b3sum on one thread. */
export function resultsTable(results, modes) {
  const rows = [];
  for (const mode of modes) {
    const b3 = references(results, mode)['b3sum-1t'];
    for (const r of results.filter((x) => x.mode === mode)) {
      rows.push([
        r.label,
        r.mode,
        fmt(r.seconds, 3),
        fmt(r.filesPerSec),
        fmt(r.mbPerSec),
        fmt(r.rssMB, 1),
        b3 ? `${fmt(r.seconds / b3.seconds, 2)}×` : '–',
        r.ok ? '' : exitNote(r.runs),
      ]);
    }
  }
  return table(
    ['command', 'cache', 'wall s', 'files/s', 'MB/s', 'peak RSS MB', '÷ b3sum 1t', 'note'],
    rows,
    2,
  );
}

export function ratioTable(ratioRows) {
  const cell = (row, id) => (row.vs[id] ? `${fmt(row.vs[id].ratio, 2)}×` : '–');
  return table(
    ['fim case', 'cache', 'wall s', ...REFS.map((r) => `÷ ${r.ref}`)],
    ratioRows.map((r) => [r.label, r.mode, fmt(r.seconds, 3), ...REFS.map((x) => cell(r, x.id))]),
    2,
  );
}

export function targetLines(tg) {
  return tg.map((t) => {
    const v = t.unit === '×' ? `${fmt(t.value, 2)}×` : `${fmt(t.value, 1)} ${t.unit}`;
    const lim = t.unit === '×' ? `${t.limit}×` : `${t.limit} ${t.unit}`;
    return `  ${t.name.padEnd(36)} ${v.padStart(10)}   target ≤ ${lim.padEnd(7)}  ${t.met === null ? '–' : t.met ? 'PASS' : 'MISS'}`;
  });
}

export function diagnosticLines(diag) {
  const out = [];
  for (const d of diag) {
    out.push(`  ${d.label}: exit ${d.exitCodes.map((c) => `${c} (${STATUS[d.statusOf[c]]})`).join(', ')}`);
    if (d.unreadable)
      out.push(
        `    ${fmt(d.unreadable)} entries could not be read, e.g. ${d.unreadableSample.join('; ') || '?'}`,
      );
    for (const l of d.messages) out.push(`    ${l.length > 200 ? `${l.slice(0, 200)}…` : l}`);
    if (d.moreMessages) out.push(`    … ${d.moreMessages} more distinct lines (see --json)`);
  }
  return out;
}
