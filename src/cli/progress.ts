/**
 * A one-line progress display for long scans: only on a TTY, never on a pipe or with --quiet, so
 * scripts and journald see clean output. When the baseline's totals are known (`fim check`), it
 * shows the share of entries and bytes done and the time left. The line is cut to the terminal's
 * width: a line that wraps cannot be cleared by `\r` and would leave stale copies behind.
 */
import type { ScanStats } from '../scan/scan.js';

export interface ProgressTotals {
  entries: number;
  bytes: bigint;
}

export interface Progress {
  update?: (s: ScanStats) => void;
  /** The baseline's totals, once known: percentages and time left from then on. */
  totals: (t: ProgressTotals) => void;
  done: () => void;
}

/** The progress line for `s` after `secs` seconds, at most `width` characters. */
export function progressLine(s: ScanStats, secs: number, width: number, totals?: ProgressTotals): string {
  const mb = Number(s.bytes) / 1e6;
  const rate = mb / Math.max(secs, 1e-3);
  let line: string;
  if (totals && totals.entries > 0) {
    const fe = Math.min(1, s.recorded / totals.entries);
    const fb = totals.bytes > 0n ? Math.min(1, Number(s.bytes) / Number(totals.bytes)) : fe;
    // Hashing dominates: time left follows the bytes, unless there are none to hash.
    const f = totals.bytes > 0n ? fb : fe;
    const left = f > 0.01 ? (secs * (1 - f)) / f : Number.NaN;
    const pct = (x: number) => `${Math.min(99, Math.floor(x * 100))}%`;
    const eta = Number.isFinite(left) ? `${formatSeconds(left)} left` : 'estimating';
    line = `checking: ${pct(fe)} of ${totals.entries} entries, ${pct(fb)} of ${(Number(totals.bytes) / 1e6).toFixed(0)} MB, ${eta}`;
    // A narrow terminal gets the short form rather than a line cut before the time left.
    if (line.length > width - 1) line = `checking: ${pct(f)}, ${eta}`;
  } else {
    line = `scanning: ${s.entries} entries, ${s.files} files, ${mb.toFixed(0)} MB, ${rate.toFixed(0)} MB/s`;
  }
  // One column spare: writing the last column makes some terminals wrap at once.
  const max = Math.max(1, width - 1);
  return line.length > max ? line.slice(0, max) : line;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function progressReporter(enabled: boolean): Progress {
  const out = process.stderr;
  let totals: ProgressTotals | undefined;
  const setTotals = (t: ProgressTotals) => {
    totals = t;
  };
  if (!enabled || !out.isTTY) return { totals: setTotals, done: () => {} };
  const start = performance.now();
  let shown = false;
  return {
    update: (s) => {
      const secs = (performance.now() - start) / 1000;
      if (secs < 0.5) return;
      out.write(`\r\x1b[2K${progressLine(s, secs, out.columns || 80, totals)}`);
      shown = true;
    },
    totals: setTotals,
    done: () => {
      if (shown) out.write('\r\x1b[2K');
      shown = false;
    },
  };
}
