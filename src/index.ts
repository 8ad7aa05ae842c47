/**
 * fim's library API: each command as a function that returns data. The CLI (`src/cli/`) and the demo
 * are thin callers of these; nothing here prints or exits. Re-exports only.
 */
export { type AcceptOptions, type AcceptOutcome, accept } from './api/accept.js';
export { type BaselineOptions, type BaselineOutcome, baseline } from './api/baseline.js';
export { type CheckOptions, check } from './api/check.js';
export { type DiffOptions, diff } from './api/diff.js';
export {
  DEFAULT_FLEET_STATE,
  type FleetAckOptions,
  type FleetStatusOptions,
  fleetAck,
  fleetStatus,
} from './api/fleet.js';
export { history, type RunFindings, showRun } from './api/history.js';
export { type KeygenOptions, type KeygenOutcome, keygen } from './api/keygen.js';
export { checkPolicies, type Explanation, explainPath } from './api/policy.js';
export type { SessionOptions } from './api/session.js';
export { type VerifyLogOptions, verifyLog } from './api/verify-log.js';
export { type WatchOptions, watch } from './api/watch.js';
export { displayBytes } from './display.js';
export {
  BaselineIntegrityError,
  ExitCode,
  type ExitCodeValue,
  FimError,
  KeyError,
  NoBaselineError,
  PolicyError,
  StorageError,
  UsageError,
} from './errors.js';
export type { DaemonState, DriftGroup, FleetStatus, HostStatus } from './fleet/status.js';
export type { CheckReport, ErrorJson, FindingJson } from './report/report.js';
export type { FileRecord, Finding, ScanError, Severity } from './types.js';
export type { Problem, VerifyReport } from './verify/index.js';
