#!/usr/bin/env node
// The inclusive time of each function in a V8 CPU profile (`node --cpu-prof`), largest first: the
// sum of the samples with that function anywhere on their stack, each sample counted once per
// function (docs/performance.md cites these for start-up costs). Time spent inside koffi's calls
// is over-attributed by V8's profiler (perf shows less): use `perf` for those.
//   node --cpu-prof --cpu-prof-dir /tmp/prof --cpu-prof-interval 50 bin/fim check -q --fast --config C
//   node bench/probes/profile-inclusive.mjs /tmp/prof/CPU.*.cpuprofile [TOP]
import { readFileSync } from 'node:fs';

const [file, top] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/probes/profile-inclusive.mjs PROFILE [TOP]');
  process.exit(2);
}
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) => {
  const f = n.callFrame;
  return `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`;
};
const inclusive = new Map();
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  const ms = (p.timeDeltas[i] ?? 0) / 1000;
  total += ms;
  const seen = new Set();
  for (let id = p.samples[i]; id !== undefined; id = parent.get(id)) {
    const k = name(byId.get(id));
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + ms);
  }
}
console.log(`total ${total.toFixed(0)} ms`);
for (const [k, ms] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, Number(top ?? 40)))
  console.log(`${ms.toFixed(1).padStart(8)} ms  ${k}`);
