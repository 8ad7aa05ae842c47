#!/usr/bin/env node
// Writes docs/fim.1 from the same source as `fim --help`: the commander program in dist/cli/main.js.
// `--check` exits 1 when docs/fim.1 is stale (the test suite runs it), so the man page cannot drift.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildProgram, EXIT_CODES_HELP } = await import(join(root, 'dist/cli/main.js'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const io = { out: () => {}, err: () => {} };
const program = buildProgram(io, () => {});

/** roff-escape a line of help text. */
const esc = (s) =>
  s
    .replace(/\\/g, '\\e')
    .replace(/^([.'])/gm, '\\&$1')
    .replace(/-/g, '\\-');

function commands(cmd, prefix) {
  const out = [];
  for (const c of cmd.commands) {
    if (c.name() === 'help') continue;
    const name = `${prefix} ${c.name()}`.trim();
    if (c.commands.length) out.push(...commands(c, name));
    else out.push({ name, cmd: c });
  }
  return out;
}

const lines = [
  `.TH FIM 1 "" "fim ${pkg.version}" "User Commands"`,
  '.SH NAME',
  `fim \\- ${esc(program.description())}`,
  '.SH SYNOPSIS',
  '.B fim',
  '.I command',
  '[options]',
  '.SH DESCRIPTION',
  esc(
    'fim hashes every file its policies name (BLAKE3) with its attributes into SQLite, reports what was added, removed or changed, watches in real time, and ships signed RFC 5424 alerts that the log server verifies with fim verify-log.',
  ),
  '.SH COMMANDS',
];
for (const { name, cmd } of commands(program, '')) {
  lines.push(`.SS "fim ${esc(name)} ${esc(cmd.usage())}"`);
  lines.push(esc(cmd.description()));
  for (const o of cmd.options) {
    lines.push('.TP');
    lines.push(`.B ${esc(o.flags)}`);
    lines.push(esc(o.description));
  }
}
lines.push('.SH "EXIT STATUS"', '.nf', esc(EXIT_CODES_HELP.trim()), '.fi');
lines.push(
  '.SH FILES',
  '.TP',
  '.B /etc/fim/fim.yaml',
  'configuration',
  '.TP',
  '.B /etc/fim/keys',
  'host keys',
  '.TP',
  '.B /var/lib/fim/fim.db',
  'baselines and the journal',
);
lines.push(
  '.SH "SEE ALSO"',
  '.BR fim.yaml (5),',
  '.BR fim\\-policy (5);',
  'the README and docs/ of the fim package.',
);
const text = `${lines.join('\n')}\n`;
const target = join(root, 'docs', 'fim.1');
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {}
  if (current !== text) {
    process.stderr.write('docs/fim.1 is stale: run `npm run man`\n');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
}
