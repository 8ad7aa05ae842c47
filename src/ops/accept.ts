/**
 * `accept`: take reviewed findings of the latest check into the baseline, atomically, as a new
 * baseline id. Only findings of a run made against the current baseline can be accepted (anything
 * else would accept something nobody reviewed), and a path with no finding is refused.
 */
import { displayBytes } from '../display.js';
import { UsageError } from '../errors.js';
import { pathToKey } from '../path-key.js';
import { RootBuilder } from '../store/root.js';
import type { BaselineMeta, Store, StoredFinding } from '../store/store.js';
import { nowNs, type RootSigner, type RootVerifier, verifyBaseline } from './baseline.js';

export interface AcceptResult {
  meta: BaselineMeta;
  previous: BaselineMeta;
  accepted: StoredFinding[];
  run: number;
}

export function acceptFindings(o: {
  store: Store;
  paths?: Buffer[];
  all?: boolean;
  label?: string;
  sign?: RootSigner;
  verifySignature?: RootVerifier;
}): AcceptResult {
  const { store } = o;
  const current = store.requireBaseline();
  verifyBaseline(store, current, o.verifySignature);
  const run = store.latestRun('check') ?? undefined;
  const watchRun = store.latestRun('watch');
  const latest = watchRun && (!run || watchRun.id > run.id) ? watchRun : run;
  if (!latest || latest.baseline !== current.id) {
    throw new UsageError(
      `no check has been run against the current baseline (${current.id}): run "fim check" and review it first`,
    );
  }
  const all = store.findings(latest.id);
  let chosen: StoredFinding[];
  if (o.all) chosen = all;
  else {
    const wanted = o.paths ?? [];
    if (wanted.length === 0) throw new UsageError('name the paths to accept, or give --all');
    const byPath = new Map(all.map((f) => [f.path.toString('latin1'), f]));
    const missing = wanted.filter((p) => !byPath.has(p.toString('latin1')));
    if (missing.length) {
      throw new UsageError(
        `no finding for ${missing.map((p) => displayBytes(p)).join(', ')} in check run ${latest.id}; nothing was accepted`,
      );
    }
    chosen = wanted.map((p) => byPath.get(p.toString('latin1'))!);
  }
  if (chosen.length === 0) throw new UsageError(`check run ${latest.id} has no findings to accept`);

  return store.transaction(() => {
    const id = store.nextBaselineId();
    store.copyRecords(current.id, id);
    const write = store.recordWriter(id);
    for (const f of chosen) {
      const key = pathToKey(f.path);
      store.deleteRecord(id, key);
      if (f.kind !== 'removed' && f.record) write(key, f.record);
    }
    const root = new RootBuilder();
    for (const { key, record } of store.records(id)) root.add(key, record);
    const createdNs = nowNs();
    const meta: BaselineMeta = {
      id,
      createdNs,
      label: o.label ?? `${current.label} + accepted run ${latest.id}`,
      host: current.host,
      policyHash: current.policyHash,
      files: root.records,
      bytes: 0n,
      root: Buffer.alloc(0),
      signature: null,
      parent: current.id,
      reason: 'accept',
    };
    meta.root = root.finish(meta);
    meta.bytes = current.bytes;
    meta.signature = o.sign ? o.sign(meta.root, createdNs) : null;
    store.insertBaselineMeta(meta);
    store.pruneOldRecords(id);
    store.vacuum();
    return { meta, previous: current, accepted: chosen, run: latest.id };
  });
}
