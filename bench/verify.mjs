#!/usr/bin/env node
// verify-log throughput (issue 3: at least 10,000 messages per second): N signed finding messages,
// written as raw RFC 5424 lines, then `fim verify-log` over the file, timed from spawn to exit.
// Usage: node bench/verify.mjs [--messages N]   (run `npm run build` first)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIM = join(ROOT, 'bin', 'fim');
const { values } = parseArgs({ options: { messages: { type: 'string', default: '50000' } } });
const n = Number(values.messages);

const { formatMessage } = await import(join(ROOT, 'dist/alert/format.js'));
const { generateKeys, loadKeys } = await import(join(ROOT, 'dist/keys/index.js'));

const dir = mkdtempSync(join(tmpdir(), 'fim-verify-bench-'));
try {
  const keysDir = join(dir, 'keys');
  const { pubPath } = generateKeys({ dir: keysDir, host: 'bench-host', epochs: 4, epochSeconds: 3600 });
  const signer = loadKeys(keysDir).currentSigner();
  const lines = [];
  const t0 = BigInt(Date.now()) * 1_000_000n;
  for (let i = 0; i < n; i++) {
    const ev = {
      type: 'finding',
      kind: 'changed',
      path: Buffer.from(`/srv/celery/app/pkg${i % 97}/module${i}.py`),
      rule: 'celery-code',
      severity: 'high',
      attributes: ['content', 'mtime', 'ctime'],
      journalId: i + 1,
    };
    const msg = formatMessage(ev, {
      host: 'bench-host',
      app: 'fim',
      procId: '1',
      facility: 10,
      sessionId: '0123456789abcdef',
      seq: i + 1,
      timeNs: t0 + BigInt(i) * 1000n,
      signer,
    });
    lines.push(msg.toString('utf8'));
  }
  const file = join(dir, 'alerts.log');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const start = performance.now();
  const r = spawnSync(FIM, ['verify-log', '--pubkey', pubPath, '--max-silence', '0', '--json', file], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const secs = (performance.now() - start) / 1000;
  const report = JSON.parse(r.stdout);
  const verified = report.hosts[0]?.verified ?? 0;
  console.log(
    `fim verify-log: ${n} messages in ${secs.toFixed(2)} s = ${Math.round(n / secs)} messages/s (exit ${r.status}, ${verified} verified, ${report.problemCount} problems)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
