import { describe, expect, test } from 'vitest';
import { formatProblem, formatVerifyReport } from '../../../src/verify/index.js';
import {
  MAX_PROBLEMS,
  nsToIso,
  type Problem,
  ProblemLog,
  problemsFound,
  type VerifyReport,
} from '../../../src/verify/problems.js';

const p = (n: number, kind: Problem['kind'] = 'bad-signature'): Problem => ({
  kind,
  line: n,
  detail: `p${n}`,
});
const gap = (sid: string): Problem => ({ kind: 'gap', host: 'h1', sid, detail: 'gap' });

describe('ProblemLog', () => {
  test('every problem goes to the caller; streamed gaps do not count in the report', () => {
    const log = new ProblemLog();
    const out: Problem[] = [];
    log.record(p(1), out);
    log.record(gap('a'), out);
    log.record(p(2, 'duplicate'), out);
    expect(out.map((x) => x.kind)).toEqual(['bad-signature', 'gap', 'duplicate']);
    expect(log.final([])).toEqual({
      problems: [p(1), p(2, 'duplicate')],
      problemCount: 2,
      problemsOmitted: 0,
    });
  });

  test('final gaps come after the recorded problems and count once each', () => {
    const log = new ProblemLog();
    log.record(p(1), []);
    log.record(gap('a'), []);
    const f = log.final([gap('a'), gap('b')]);
    expect(f.problems.map((x) => x.kind)).toEqual(['bad-signature', 'gap', 'gap']);
    expect(f.problemCount).toBe(3);
  });

  test(`the first ${MAX_PROBLEMS} are kept in input order, the rest (final gaps too) counted`, () => {
    const log = new ProblemLog();
    for (let i = 1; i <= MAX_PROBLEMS + 5; i++) log.record(p(i), []);
    const f = log.final([gap('a')]);
    expect(f.problems).toHaveLength(MAX_PROBLEMS);
    expect(f.problems.at(-1)?.line).toBe(MAX_PROBLEMS);
    expect(f).toMatchObject({ problemCount: MAX_PROBLEMS + 6, problemsOmitted: 6 });
  });

  test('final may be asked twice: it does not consume the log', () => {
    const log = new ProblemLog();
    log.record(p(1), []);
    expect(log.final([gap('a')])).toEqual(log.final([gap('a')]));
  });
});

describe('report data and text', () => {
  const empty: VerifyReport = {
    version: 1,
    lines: 0,
    malformed: 0,
    foreign: 0,
    unknownHosts: {},
    hosts: [],
    problems: [],
    problemCount: 0,
    problemsOmitted: 0,
  };

  test('problems found is the problem count, not the problems kept', () => {
    expect(problemsFound(empty)).toBe(false);
    expect(problemsFound({ ...empty, problemCount: 1 })).toBe(true);
  });

  test('text built from log content stays one line per item', () => {
    const hostile: Problem = {
      kind: 'unknown-host',
      host: 'evil\nPROBLEM x',
      line: 3,
      detail: 'a\nb\u001b[2J',
    };
    const line = formatProblem(hostile);
    expect(line.split('\n')).toHaveLength(1);
    expect(line.startsWith('PROBLEM unknown-host host=evil')).toBe(true);
    const text = formatVerifyReport({
      ...empty,
      unknownHosts: { 'a\nb': 1 },
      problems: [hostile],
      problemCount: 1,
    });
    expect(text.split('\n').filter((l) => l.includes('PROBLEM'))).toHaveLength(1);
    expect(text).toContain('1 problem(s):');
  });

  test('nsToIso: a time, or the raw number when it is no date', () => {
    expect(nsToIso(1_767_268_800_000_000_000n)).toBe('2026-01-01T12:00:00.000Z');
    expect(nsToIso(10n ** 24n)).toBe(String(10n ** 24n));
  });
});
