/**
 * The trees the scan benchmark runs on: the generated sample tree (bench/gen-tree.mjs), or any
 * existing directory (`--tree DIR`), for which the tools' configurations are written into a work
 * directory of the bench's own and the denominators are counted with find.
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { generate, writeToolConfigs } from '../gen-tree.mjs';
import { isTmpfs, log, mountsUnder } from './run.mjs';

/**
 * Count what is in a tree without following symlinks and without leaving its file system
 * (`find DIR -xdev -printf '%y %s\n'`): regular files and their bytes (the denominators of files/s
 * and MB/s), directories, symlinks and everything else (sockets, FIFOs, devices) by type letter.
 */
export function countTree(dir) {
  return new Promise((done, fail) => {
    const child = spawn('find', [dir, '-xdev', '-printf', '%y %s\n'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const c = { files: 0, bytes: 0, dirs: 0, symlinks: 0, other: {}, findErrors: [] };
    let rest = '';
    const line = (l) => {
      if (!l) return;
      const t = l[0];
      if (t === 'f') {
        c.files++;
        c.bytes += Number(l.slice(2));
      } else if (t === 'd') c.dirs++;
      else if (t === 'l') c.symlinks++;
      else c.other[t] = (c.other[t] ?? 0) + 1;
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => {
      const lines = (rest + s).split('\n');
      rest = lines.pop();
      for (const l of lines) line(l);
    });
    let err = '';
    child.stderr.on('data', (b) => {
      err += b;
    });
    child.on('error', fail);
    child.on('close', (code) => {
      line(rest);
      c.findErrors = err.split('\n').filter(Boolean).slice(0, 10);
      if (code !== 0) c.findExit = code;
      done(c);
    });
  });
}

const TYPE_NAMES = { s: 'sockets', p: 'FIFOs', b: 'block devices', c: 'character devices', D: 'doors' };
export const describeOther = (other) =>
  Object.entries(other)
    .map(([t, n]) => `${n} ${TYPE_NAMES[t] ?? `type ${t}`}`)
    .join(', ');

/** The generated tree of a scale and seed under `dir`, made or reused. */
export function sampleTree({ dir, scale, seed }) {
  const out = join(resolve(dir), `scale-${scale}-seed-${seed}`);
  const m = generate({ out, scale, seed, log });
  log(m.reused ? `reusing the tree in ${out}` : `generated ${m.files} files in ${m.seconds} s in ${out}`);
  if (isTmpfs(out)) log(`warning: ${out} is on tmpfs: reads never touch a disk, cold runs mean nothing`);
  return { ...m, kind: 'sample', other: {}, mounts: [], notes: [] };
}

/**
 * An existing tree. Its work directory (configs, fim keys, databases) is named after the path and
 * kept under `dir`, so keys are generated once per tree; the counts are taken again every run.
 */
export async function existingTree({ dir, tree }) {
  const abs = resolve(tree);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new Error(`--tree ${tree}: not a directory`);
  const slug = `${abs.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'root'}`;
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 8);
  const out = join(resolve(dir), `tree-${slug.slice(0, 60)}-${hash}`);
  // fim's database, AIDE's and Tripwire's would change under their own scans. --tree writes no
  // excludes, so a tree that holds every place --dir could go (/) is not supported.
  if (out.startsWith(`${abs.replace(/\/$/, '')}/`))
    throw new Error(
      `the work directory ${out} would be inside --tree ${abs}: pass --dir outside the tree (--tree writes no excludes)`,
    );
  mkdirSync(out, { recursive: true });
  const m = { kind: 'existing', out, tree: abs };
  writeToolConfigs(m, {
    log,
    what: abs,
    rules: [{ name: `bench-${basename(abs) || 'root'}`, severity: 'high', path: abs }],
  });
  log(`counting ${abs} (find -xdev, regular files, no symlink followed)`);
  const c = await countTree(abs);
  Object.assign(m, c);
  m.mounts = mountsUnder(abs).map((x) => `${x.dir} (${x.type})`);
  m.notes = [];
  if (m.mounts.length)
    m.notes.push(
      `mount points inside the tree: ${m.mounts.join(', ')}: the counts, the warm-up and the references stay on ${abs}'s file system (-xdev); fim, AIDE and Tripwire may cross into them`,
    );
  if (Object.keys(m.other).length)
    m.notes.push(
      `besides files, directories and symlinks the tree holds ${describeOther(m.other)}: b3sum never sees them; the scanners record them without opening them (or say so below)`,
    );
  if (c.findErrors.length)
    m.notes.push(
      `find could not read everything (exit ${c.findExit}): ${c.findErrors.slice(0, 3).join(' | ')}`,
    );
  writeFileSync(join(out, 'tree.json'), `${JSON.stringify(m, null, 2)}\n`);
  if (isTmpfs(abs)) log(`warning: ${abs} is on tmpfs: reads never touch a disk, cold runs mean nothing`);
  return m;
}
