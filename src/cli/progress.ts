/**
 * A one-line progress display for long scans: only on a TTY, never on a pipe or with --quiet, so
 * scripts and journald see clean output.
 */
import type { ScanStats } from '../scan/scan.js';

export function progressReporter(enabled: boolean): { update?: (s: ScanStats) => void; done: () => void } {
  const out = process.stderr;
  if (!enabled || !out.isTTY) return { done: () => {} };
  const start = performance.now();
  let shown = false;
  return {
    update: (s) => {
      const secs = (performance.now() - start) / 1000;
      if (secs < 0.5) return;
      const mb = Number(s.bytes) / 1e6;
      out.write(
        `\r\x1b[2Kscanning: ${s.entries} entries, ${s.files} files, ${mb.toFixed(0)} MB, ${(mb / secs).toFixed(0)} MB/s`,
      );
      shown = true;
    },
    done: () => {
      if (shown) out.write('\r\x1b[2K');
    },
  };
}
