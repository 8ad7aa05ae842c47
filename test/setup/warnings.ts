/**
 * Process warnings are bugs (after execa): a test during which this process emitted one fails.
 * Loaded for every test file by vitest.config.ts (`setupFiles`).
 */
import { afterEach } from 'vitest';

const seen: Error[] = [];
process.on('warning', (w) => seen.push(w));

/** Throw if warnings were emitted since the last call, and forget them. */
export function failOnWarnings(): void {
  if (seen.length === 0) return;
  const ws = seen.splice(0);
  throw new Error(
    `process warning(s) during this test: ${ws.map((w) => `${w.name}: ${w.message}`).join('; ')}`,
  );
}

afterEach(() => failOnWarnings());
