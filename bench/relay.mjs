#!/usr/bin/env node
// RELP against TCP with disk-assisted queues between the fleet's rsyslog hops (issue 18): the
// shipped host (forwarder) and relay configurations (docs/rsyslog-host.conf, docs/rsyslog-relay.conf)
// as real rsyslogds, RELP as shipped or their commented TCP alternative, into a receiving rsyslogd
// (the centre's part that matters here: an imrelp or imtcp input storing to a file). N numbered
// messages of fim's size are sent to the forwarder (paced UDP on 127.0.0.1; what the forwarder
// itself received is counted too), and the relay is stopped in the middle and started again.
// Reported: messages/s end to end without a restart, and lost and duplicated messages across the
// relay restart (SIGTERM) and across a relay crash (SIGKILL).
//
// Usage: node bench/relay.mjs [--messages N]    (needs rsyslog-relp)
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const DOCS = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs');
const { values } = parseArgs({ options: { messages: { type: 'string', default: '10000' } } });
const N = Number(values.messages);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (p) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};
async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}
const counters = (file) => (text(file).match(/ bench-\d+ /g) ?? []).map((m) => Number(m.slice(7, -1)));

function rsyslogd(dir, conf) {
  writeFileSync(join(dir, 'rsyslog.conf'), conf);
  const p = spawn('/usr/sbin/rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'pid')], {
    stdio: 'ignore',
  });
  return {
    stop: (signal = 'SIGTERM') =>
      new Promise((r) => {
        if (p.exitCode !== null) return r();
        p.once('exit', r);
        p.kill(signal);
      }),
  };
}

function modules(dir, names) {
  mkdirSync(join(dir, 'fim-modules'), { recursive: true });
  mkdirSync(join(dir, 'work'), { recursive: true });
  for (const m of names)
    copyFileSync(join(DOCS, 'rsyslog-modules', `${m}.conf`), join(dir, 'fim-modules', `${m}.conf`));
}

/** The shipped file, its RELP action swapped for the commented TCP one when `tcp`. */
function role(file, dir, tcp, replace) {
  let t = text(join(DOCS, file))
    .replaceAll('/etc/rsyslog.d/fim-modules/', `${dir}/fim-modules/`)
    .replaceAll('/var/spool/rsyslog', `${dir}/work`);
  t = t.replaceAll('action.resumeInterval="10"', 'action.resumeInterval="1"');
  if (tcp) {
    const lines = t.split('\n');
    const a = lines.findIndex((l) => l.includes('action(type="omrelp"'));
    let b = a;
    while (!lines[b].trimEnd().endsWith(')')) b++;
    lines.splice(a, b - a + 1);
    t = lines
      .map((l) =>
        /^\s*#\s{1,8}(action\(type="omfwd"|\s*(tcp_framing|queue\.|action\.))/.test(l)
          ? l.replace(/^(\s*)#\s/, '$1')
          : l,
      )
      .join('\n');
  }
  for (const [x, y] of replace) {
    if (!t.includes(x)) throw new Error(`${file}: ${x} not found`);
    t = t.replaceAll(x, y);
  }
  return t;
}

async function run(transport, restart) {
  const tcp = transport === 'tcp';
  const base = mkdtempSync(join(tmpdir(), `fim-relay-bench-${transport}-`));
  const [cDir, rDir, fDir] = ['center', 'relay', 'forwarder'].map((d) => join(base, d));
  const centerPort = await freePort();
  const relayPort = await freePort();
  const fwdPort = await freePort();
  modules(cDir, [tcp ? 'imtcp' : 'imrelp']);
  const stored = join(cDir, 'stored.log');
  const center = rsyslogd(
    cDir,
    `include(file="${cDir}/fim-modules/*.conf")\nglobal(workDirectory="${cDir}/work" maxMessageSize="8k")\nruleset(name="r") { action(type="omfile" file="${stored}" template="RSYSLOG_SyslogProtocol23Format") }\ninput(type="${tcp ? 'imtcp' : 'imrelp'}" port="${centerPort}" ruleset="r")\n`,
  );
  modules(rDir, ['imudp', tcp ? 'imtcp' : 'imrelp', ...(tcp ? [] : ['omrelp'])]);
  let relayConf = role('rsyslog-relay.conf', rDir, tcp, [
    [
      tcp ? 'target="logs.internal" port="2515"' : 'target="logs.internal" port="2514"',
      `target="127.0.0.1" port="${centerPort}"`,
    ],
    ['input(type="imudp" port="514"', `input(type="imudp" address="127.0.0.1" port="${await freePort()}"`],
  ]);
  relayConf = tcp
    ? relayConf.replace(
        /^input\(type="imrelp".*$/m,
        `input(type="imtcp" port="${relayPort}" ruleset="fimRelay")`,
      )
    : relayConf.replace('input(type="imrelp" port="2514"', `input(type="imrelp" port="${relayPort}"`);
  let relay = rsyslogd(rDir, relayConf);
  modules(fDir, ['imudp', ...(tcp ? [] : ['omrelp'])]);
  const received = join(fDir, 'received.log');
  const fwdConf = role('rsyslog-host.conf', fDir, tcp, [
    [
      tcp ? 'target="relay.internal" port="2515"' : 'target="relay.internal" port="2514"',
      `target="127.0.0.1" port="${relayPort}"`,
    ],
    ['port="5140"', `port="${fwdPort}"`],
    // What the forwarder received, to tell its own UDP input's losses from the hops'.
    [
      'ruleset(name="fimForward") {',
      `ruleset(name="fimForward") {\n  action(type="omfile" file="${received}" template="RSYSLOG_SyslogProtocol23Format")`,
    ],
  ]);
  const fwd = rsyslogd(fDir, fwdConf);
  await sleep(1500); // startup of three daemons; the probe below proves the path
  const sock = createSocket('udp4');
  const send = (m) => new Promise((r) => sock.send(m, fwdPort, '127.0.0.1', r));
  const pad = 'x'.repeat(900); // fim's messages are about 1 KB
  for (let probe = 0; !counters(stored).includes(0); probe++) {
    if (probe > 300) throw new Error(`${transport}: the probe never reached the centre`);
    await send(`<14>1 - bench fim - - - bench-0 probe`);
    await sleep(100);
  }
  const t0 = performance.now();
  for (let i = 1; i <= N; i++) {
    await send(`<14>1 2026-12-02T00:00:00Z worker-1 fim 1 finding [fim@32473 n="${i}"] bench-${i} ${pad}`);
    if (i % 200 === 0) await sleep(20); // paced: the forwarder's own UDP input must not drop
    if (restart && i === Math.floor(N / 2)) {
      await relay.stop(restart);
      await sleep(2000);
      relay = rsyslogd(rDir, relayConf);
    }
  }
  // Until the centre has everything the forwarder received, or nothing arrives for 20 s.
  let last = -1;
  let stillFor = 0;
  for (;;) {
    const n = counters(stored).length;
    const want = new Set(counters(received).filter((x) => x > 0)).size;
    if (n - 1 >= want && want > 0) break;
    stillFor = n === last ? stillFor + 1 : 0;
    last = n;
    if (stillFor > 40) break;
    await sleep(500);
  }
  const secs = (performance.now() - t0) / 1000;
  sock.close();
  const got = counters(stored).filter((x) => x > 0);
  const sent = new Set(counters(received).filter((x) => x > 0));
  const distinct = new Set(got);
  await fwd.stop();
  await relay.stop();
  await center.stop();
  rmSync(base, { recursive: true, force: true });
  const lost = [...sent].filter((x) => !distinct.has(x)).length;
  return { transport, restart, sent: sent.size, lost, duplicates: got.length - distinct.size, secs };
}

const WHAT = {
  '': 'no restart',
  SIGTERM: 'relay restarted (SIGTERM)',
  SIGKILL: 'relay killed (SIGKILL), started',
};
for (const transport of ['relp', 'tcp'])
  for (const restart of ['', 'SIGTERM', 'SIGKILL']) {
    const r = await run(transport, restart);
    console.log(
      `${transport.toUpperCase().padEnd(4)} ${WHAT[restart].padEnd(31)}: ${r.sent} messages received by the forwarder, ${r.lost} lost, ${r.duplicates} duplicated at the centre` +
        (restart ? '' : `, ${Math.round(r.sent / r.secs)} messages/s end to end (paced sender)`),
    );
  }
