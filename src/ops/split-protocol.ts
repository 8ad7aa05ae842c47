/**
 * What the main thread and the workers of a split scan (split-scan.ts, split-worker.ts) say to each
 * other, and the shared control words. A unit is a subtree one worker walks; the main thread
 * consumes each unit's ordered items in key order, following its splice markers into the units
 * handed out from it, and (a baseline) stores records in whatever order they arrive.
 */
import type { Handoff, ScanStats } from '../scan/scan.js';
import type { FileRecord, Finding, ScanError } from '../types.js';
import type { WireError } from '../worker-error.js';

/** Control words (an Int32Array over a SharedArrayBuffer). */
export const CTL = {
  /** Idle workers not yet served: a walk claims one (compare-and-swap down) and hands it a subtree. */
  wanted: 0,
  /** Bumped by a worker after each message, so the main thread can sleep until one comes. */
  signal: 1,
  /** Per worker w, at base + 3w: its current unit, its batches of it handled, its exit flag. */
  base: 2,
} as const;
export const CTL_PER_WORKER = 3;
export const ctlSlot = (w: number, field: 0 | 1 | 2): number => CTL.base + CTL_PER_WORKER * w + field;

/** Batches of one unit a worker may have outstanding (posted, not yet handled) before it waits. */
export const CREDITS = 32;
/** Items per batch. */
export const BATCH_ITEMS = 256;
/** Unit ids: worker w numbers its handed units w + MAX_WORKERS * n; the walk from the root is 0. */
export const MAX_WORKERS = 16;
export const ROOT_UNIT = 0;

export type Mode = 'baseline' | 'check';

/** What a worker starts with (SplitPool): its number and the shared words. */
export interface WorkerInit {
  worker: number;
  ctl: Int32Array;
  /** Worker progress: entries, recorded, files, bytes, hashedBytes, errors (cumulative). */
  progress: Float64Array;
}

/** What a worker is told once the scan is known: then it says it is ready. */
export interface WorkerSetup {
  t: 'setup';
  mode: Mode;
  policy: { sources: { file: string; text: string }[]; hash: string };
  fast: boolean;
  /** A check: the database and the baseline (format 3: hashed by directory). */
  database?: string;
  baselineId?: number;
}

/**
 * One directory's run: its root part and, for a baseline, its deploy-digest part. (Items' Buffers
 * cross the thread boundary as plain Uint8Arrays; split-scan.ts wraps them back.)
 */
export interface PartItem {
  k: 'part';
  code: Buffer;
  count: number;
  root: Buffer;
  deploy?: Buffer;
}

export type OrderedItem =
  | PartItem
  | { k: 'error'; error: ScanError }
  | { k: 'missing'; path: Buffer; rule: string }
  | { k: 'finding'; finding: Finding }
  /** The splice marker: unit `id`'s items go here. */
  | { k: 'unit'; id: number };

export type ToMain =
  | { t: 'ready' }
  | { t: 'split'; unit: number; child: number; handoff: Handoff }
  | { t: 'batch'; unit: number; items: OrderedItem[]; records?: [Buffer, FileRecord][] }
  | { t: 'end'; unit: number; stats: ScanStats; uncovered: number }
  | { t: 'fail'; unit: number; error: WireError };

export type ToWorker = WorkerSetup | { t: 'run'; unit: number; handoff: Handoff | null };
