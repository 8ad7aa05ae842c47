/**
 * A worker thread of a split scan (split-scan.ts): its own copy of the policy (from the texts the
 * main thread read, checked against their hash), its own read-only connection for a check, and
 * the units it is given, each walked by split-unit.ts. Messages go to the main thread through a
 * port it reads synchronously, each followed by a bump of the shared signal word it sleeps on.
 *
 * It must not outlive a failure silently: every error is posted as data (worker-error.ts), and its
 * exit, however it comes, is flagged in the control words.
 */
import { isMainThread, type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { asBuffer } from '../fields.js';
import { policyFromSources } from '../policy/policy.js';
import { RuleIndex } from '../policy/rule-index.js';
import { Store } from '../store/store.js';
import { encodeError } from '../worker-error.js';
import {
  CREDITS,
  CTL,
  ctlSlot,
  type ToMain,
  type ToWorker,
  type WorkerInit,
  type WorkerSetup,
} from './split-protocol.js';
import { UnitRunner } from './split-unit.js';

function start(data: WorkerInit & { port: MessagePort }): void {
  const { port, ctl, worker: w } = data;
  const post = (m: ToMain) => {
    port.postMessage(m);
    Atomics.add(ctl, CTL.signal, 1);
    Atomics.notify(ctl, CTL.signal);
  };
  // Whatever ends this thread, the main thread, which sleeps on the signal, learns of it.
  process.on('exit', () => {
    Atomics.store(ctl, ctlSlot(w, 2), 1);
    Atomics.add(ctl, CTL.signal, 1);
    Atomics.notify(ctl, CTL.signal);
  });
  let runner: UnitRunner | null = null;
  const setUp = (m: WorkerSetup) => {
    const policy = policyFromSources(m.policy.sources);
    // The texts were read once, by the main thread; a copy that hashes otherwise is not that policy.
    if (policy.hash.toString('hex') !== m.policy.hash)
      throw new Error('split scan: the policy changed on its way to a worker');
    runner = new UnitRunner({
      worker: w,
      ctl,
      progress: data.progress,
      index: new RuleIndex(policy.rules),
      store: m.mode === 'check' ? Store.open(m.database ?? '', { readonly: true }) : null,
      baselineId: m.baselineId ?? 0,
      fast: m.fast,
      post,
      // At most CREDITS batches of a unit ahead of the main thread (its memory stays bounded).
      credit: (posted) => {
        for (;;) {
          const handled = Atomics.load(ctl, ctlSlot(w, 1));
          if (posted - handled < CREDITS) return;
          Atomics.wait(ctl, ctlSlot(w, 1), handled, 100);
        }
      },
    });
  };
  parentPort?.on('message', (m: ToWorker) => {
    if (m.t === 'setup') {
      try {
        setUp(m);
        post({ t: 'ready' });
      } catch (err) {
        post({ t: 'fail', unit: -1, error: encodeError(err) });
      }
      return;
    }
    const handoff = m.handoff ? { ...m.handoff, path: asBuffer(m.handoff.path) } : null;
    Atomics.store(ctl, ctlSlot(w, 0), m.unit);
    Atomics.store(ctl, ctlSlot(w, 1), 0);
    try {
      if (!runner) throw new Error('split scan: a unit before the setup');
      runner.run(m.unit, handoff);
    } catch (err) {
      post({ t: 'fail', unit: m.unit, error: encodeError(err) });
    }
  });
}

if (!isMainThread && parentPort) start(workerData as WorkerInit & { port: MessagePort });
