/**
 * `fleetStatus()`: on the log server, the status of every host the one verifier knows, read from
 * its `--state` file (store/verify-state.ts) while it runs, and judged at the given time
 * (fleet/status.ts). The status reads; it never writes the state or makes a file beside it, so it
 * cannot disturb the verifier (`fim fleet ack` writes its own table).
 */
import { existsSync } from 'node:fs';
import { displayBytes } from '../display.js';
import { StorageError, UsageError } from '../errors.js';
import { type FleetStatus, fleetStatus as judge } from '../fleet/status.js';
import { type FleetAck, VerifyStateFile } from '../store/verify-state.js';
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
  const { views, acks } = readFleet(o.state ?? DEFAULT_FLEET_STATE);
  return judge(views, o.now ?? Date.now(), o.maxSilenceMs ?? DEFAULT_MAX_SILENCE_MS, acks);
}

export interface FleetAckOptions {
  state?: string;
  /** The hosts whose problems so far are resolved; each must be in the state. */
  hosts: string[];
  now?: number;
}

/**
 * `fim fleet ack HOST...`: the hosts' problems and missing messages so far are acknowledged (the
 * status counts only newer ones). Written beside the verifier's state, in a table it never writes.
 * Returns what was acknowledged per host.
 */
export function fleetAck(o: FleetAckOptions): Map<string, FleetAck> {
  const file = o.state ?? DEFAULT_FLEET_STATE;
  const { views } = readFleet(file);
  const out = new Map<string, FleetAck>();
  for (const host of o.hosts) {
    const v = views.get(host);
    if (!v)
      throw new UsageError(
        `host ${displayBytes(Buffer.from(host))} is not in ${displayBytes(Buffer.from(file))}: see fim fleet status for the hosts it holds`,
      );
    out.set(host, { atMs: o.now ?? Date.now(), problems: { ...v.problemCounts }, missing: v.missing });
  }
  const state = VerifyStateFile.open(file);
  try {
    state.ack(out);
  } finally {
    state.close();
  }
  return out;
}

function readFleet(file: string): { views: Map<string, HostView>; acks: Map<string, FleetAck> } {
  const shown = displayBytes(Buffer.from(file));
  if (!existsSync(file))
    throw new UsageError(
      `no verifier state at ${shown}: give the file the log server's verify-log writes with --state (see docs/fleet.md)`,
    );
  // Read-only: the verifier's file and directory are not the reader's to write (db.ts).
  const state = VerifyStateFile.openReadonly(file);
  const views = new Map<string, HostView>();
  let acks: Map<string, FleetAck>;
  try {
    acks = state.acks();
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
  return { views, acks };
}
