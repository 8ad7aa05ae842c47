/** verify-log: checks stored fim alerts for forgery, loss, replay, restarts, silence, swapped baselines. Re-exports only. */
export { parseSyslogLine, type SdElement, type SyslogMessage } from './parse.js';
export { formatProblem, formatVerifyReport } from './report.js';
export { formatIntervals, type Interval, SequenceTracker } from './sequence.js';
export { type VerifyStreamOptions, verifyStream } from './stream.js';
export {
  createVerifier,
  DEFAULT_MAX_SILENCE_MS,
  DEFAULT_SKEW_MS,
  type HostReport,
  PROBLEM_KINDS,
  type Problem,
  type ProblemKind,
  problemsFound,
  REORDER_WINDOW,
  type SessionReport,
  type Verifier,
  type VerifierOptions,
  type VerifyReport,
} from './verifier.js';
