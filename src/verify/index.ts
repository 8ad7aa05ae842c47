/** verify-log: checks stored fim alerts for forgery, loss, replay, restarts, silence, swapped baselines. Re-exports only. */
export { DEFAULT_SKEW_MS, type SignatureCheck } from './auth.js';
export type { RecentProblem, SummaryHealth } from './health.js';
export type { PreparedLine } from './line.js';
export { parseSyslogLine, type SdElement, type SyslogMessage } from './parse.js';
export {
  type HostReport,
  PROBLEM_KINDS,
  type Problem,
  type ProblemKind,
  problemsFound,
  type SessionReport,
  type VerifyReport,
} from './problems.js';
export { formatProblem, formatVerifyReport } from './report.js';
export { ROOT_HANDOVER_MS } from './roots.js';
export { formatIntervals, type Interval, SequenceTracker } from './sequence.js';
export { REORDER_WINDOW } from './sessions.js';
export { DEFAULT_MAX_SILENCE_MS } from './silence.js';
export { type HostView, readHostView, SnapshotError } from './snapshot.js';
export { type VerifyStreamOptions, verifyStream } from './stream.js';
export {
  createVerifier,
  KEYS_EXPIRY_WARNING_MS,
  problemKey,
  type Verifier,
  type VerifierOptions,
  type VerifierState,
} from './verifier.js';
