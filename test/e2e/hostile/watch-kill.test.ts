/**
 * Process faults of the daemon (issue 6): `kill -9` of `fim watch` at random moments while files
 * change, in a loop. Every alert that reached the receiver must name a finding that is in the
 * journal (journaled first, sent second), and the baseline must still verify afterwards. 50 rounds
 * with FIM_LONG_TESTS (set by .ci/run), 4 otherwise. FIM_KILL_SEED replays a run.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FIM, fimAsync, Sandbox } from '../../helpers/fim.js';
import { rng } from '../../helpers/rng.js';
import { delay, waitFor } from '../../helpers/wait.js';

const LONG = Boolean(process.env.FIM_LONG_TESTS);
const ROUNDS = LONG ? 50 : 4;
const SEED = Number(process.env.FIM_KILL_SEED ?? Date.now() % 2 ** 31);

let sb: Sandbox;
let config: string;
const received: string[] = [];
const sock = createSocket('udp4');

beforeAll(async () => {
  sb = new Sandbox('fim-watch-kill-');
  for (let i = 0; i < 200; i++) sb.write(`app/d${i % 10}/f${i}.txt`, `${i}\n`);
  sb.policy('  - name: app\n    paths: ["{tree}/app"]\n    check: readonly\n');
  sock.on('message', (m) => received.push(m.toString('utf8')));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  config = join(sb.dir, 'fim.yaml');
  writeFileSync(
    config,
    `host: kill-host\npolicies: [policy.yaml]\ndatabase: fim.db\nkeys: keys\nsyslog: { target: "udp://127.0.0.1:${sock.address().port}", max_per_second: 1000 }\nwatch: { heartbeat: 1s }\n`,
  );
  expect((await fimAsync(['keygen', '--epochs', '24', '--config', config])).code).toBe(0);
  expect((await fimAsync(['baseline', '--config', config])).code).toBe(0);
});

afterAll(() => {
  sock.close();
  sb.cleanup();
});

it(`every alert sent before a kill -9 is in the journal, and the baseline verifies (${ROUNDS} rounds, seed ${SEED})`, async () => {
  const rand = rng(SEED);
  let killedWhileWatching = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const child = spawn(FIM, ['watch', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = once(child, 'exit');
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.resume();
    // Change files while it starts and watches, then kill it at a random moment.
    const deadline = Date.now() + 300 + rand() * 1500;
    let n = 0;
    while (Date.now() < deadline && child.exitCode === null) {
      sb.write(`app/d${n % 10}/f${Math.floor(rand() * 200)}.txt`, `round ${round} write ${n++}\n`);
      // The pace of the writes is part of the test: a change every 10 ms while it runs.
      await delay(10);
    }
    if (out.includes('ready')) killedWhileWatching++;
    child.kill('SIGKILL');
    await exited;
  }
  // Let the last datagrams land: a marker sent now arrives after everything the killed daemons
  // sent (on loopback a datagram is in the receiver's queue once sent; the queue is in order).
  const marker = `marker ${SEED}`;
  const probe = createSocket('udp4');
  await new Promise<void>((r, j) =>
    probe.send(marker, sock.address().port, '127.0.0.1', (err) => (err ? j(err) : r())),
  );
  probe.close();
  await waitFor(() => received.includes(marker), { what: 'the marker datagram after the last kill' });

  const jids = received
    .filter((m) => m.includes('ev="finding"'))
    .map((m) => Number(/ jid="(\d+)"/.exec(m)?.[1]));
  expect(jids.length).toBeGreaterThan(0);
  const db = new Database(join(sb.dir, 'fim.db'), { readonly: true });
  const has = db.prepare('SELECT 1 FROM finding WHERE id = ?').pluck();
  const missing = jids.filter((id) => has.get(id) === undefined);
  db.close();
  expect(missing, `alerts whose finding is not in the journal (seed ${SEED})`).toEqual([]);
  expect(killedWhileWatching).toBeGreaterThan(0);

  const check = await fimAsync(['check', '--config', config]);
  expect(check.code, check.stderr).toBeLessThan(16);
}, 600_000);
