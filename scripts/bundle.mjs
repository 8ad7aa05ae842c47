// The CLI as one file, dist/bundle/fim.js, which bin/fim runs: every command started by loading
// about 270 modules (fim's own, yaml's 84, commander's), 80-100 ms of a 0.2 s `fim check` here
// before any work; from the bundle a small check started 30-70 ms sooner (docs/performance.md,
// "Start and keys"). It bundles dist/ (tsc's output, which it needs first) with the JavaScript
// dependencies; the native ones stay packages, loaded as Node loads them.
//
// The worker threads' scripts are bundled beside it, and named as dist/bundle/NAME.js from any
// module one folder below dist/ (new URL('../bundle/split-worker.js', import.meta.url)): the same
// from dist/ops/split-pool.js and from the bundle. The TypeScript sources under test have no
// bundle beside them, and scan on one thread (split-pool.ts).

import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist/cli/main.js');
if (!existsSync(entry)) {
  console.error('scripts/bundle.mjs: dist/cli/main.js is missing: run "tsc -p tsconfig.build.json" first');
  process.exit(1);
}

// Chunks are named by their content's hash: a new build leaves the old ones behind unless the
// folder is emptied first (npm pack would ship them).
rmSync(join(root, 'dist/bundle'), { recursive: true, force: true });

await build({
  // The CLI, and each worker thread's script: a worker loads its own modules, so it starts faster
  // from one file too.
  entryPoints: {
    fim: entry,
    'split-worker': join(root, 'dist/ops/split-worker.js'),
    'row-process': join(root, 'dist/ops/row-process.js'),
    'scan-worker': join(root, 'dist/watch/scan-worker.js'),
    'fanotify-reader': join(root, 'dist/watch/fanotify-reader.js'),
  },
  outdir: join(root, 'dist/bundle'),
  bundle: true,
  // Each command's module is loaded when it runs (cli/main.ts): split at those imports, a check
  // loads the chunks of a check, not the daemon's or the demo's. Chunks shared by the CLI and the
  // workers are loaded once per thread, as modules are.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // No keepNames: it wraps every function in `__name(fn, "name")`, an Object.defineProperty each
  // time a closure is created (the hasher's per-file closures: about 8% of a check, measured). The
  // error classes keep their names without it (esbuild renames a top-level name only where two
  // collide in one chunk): FimError takes its name from new.target, and a worker's errors travel by
  // name (worker-error.ts). test/unit/bundle.test.ts checks both.
  // Native addons find their .node files from their own package folders.
  external: ['better-sqlite3', 'koffi', '@napi-rs/blake-hash'],
  // yaml and commander are CommonJS: their require() of Node's modules needs a real require.
  banner: {
    js: "import { createRequire as fimBundleRequire } from 'node:module';\nconst require = fimBundleRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
