/**
 * `fleetStatus()`: on the log server, the status of every host the one verifier knows, read from
 * its `--state` file (store/verify-state.ts) while it runs, and judged at the given time
 * (fleet/status.ts). It reads; it never writes the state, so it cannot disturb the verifier.
 */
import { existsSync } from 'node:fs';
import { displayBytes } from '../display.js';
import { StorageError, UsageError } from '../errors.js';
import { type FleetStatus, fleetStatus as judge } from '../fleet/status.js';
import { VerifyStateFile } from '../store/verify-state.js';
import { DEFAULT_MAX_SILENCE_MS, type HostView, readHostView, SnapshotError } from '../verify/index.js';

/** Where the documented log server keeps the one verifier's state (docs/fleet.md). */
export const DEFAULT_FLEET_STATE = '/var/lib/fim/verify/fleet.state';

export interface FleetStatusOptions {
  /** The verifier's state file (`verify-log --state`). */
  state?: string;
  /** A host with no verified message for longer than this is silent (default: verify-log's). */
  maxSilenceMs?: number;
  /** The clock, ms (tests). */
  now?: number;
}

export function fleetStatus(o: FleetStatusOptions = {}): FleetStatus {
  const file = o.state ?? DEFAULT_FLEET_STATE;
  const shown = displayBytes(Buffer.from(file));
  if (!existsSync(file))
    throw new UsageError(
      `no verifier state at ${shown}: give the file the log server's verify-log writes with --state (see docs/fleet.md)`,
    );
  const state = VerifyStateFile.open(file);
  const views = new Map<string, HostView>();
  try {
    for (const [host, v] of state.load().hosts) {
      try {
        views.set(host, readHostView(v, `the saved state of host ${host}`));
      } catch (err) {
        if (err instanceof SnapshotError)
          throw new StorageError(`${shown}: ${err.message}; move the file aside to start afresh`, {
            cause: err,
          });
        throw err;
      }
    }
  } finally {
    state.close();
  }
  return judge(views, o.now ?? Date.now(), o.maxSilenceMs ?? DEFAULT_MAX_SILENCE_MS);
}
