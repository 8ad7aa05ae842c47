/**
 * The process that reads a `--fast` check's baseline rows (row-stream.ts), started with the
 * database's path; it writes frames to descriptor 3, a pipe the check reads. In its own read
 * transaction: the newest baseline's metadata first (the check compares it with its own), then
 * every record of it read and checked column by column (store/records.ts), hashed into the root
 * as it goes (verify-baseline.ts rootTee), as canonical bytes in batches; the root check last.
 *
 * It must not end a stream the root check did not pass: its last frame is `end` only after
 * checkRoot, and any error is a `fail` frame with the error as data (worker-error.ts).
 */
import { writeSync } from 'node:fs';
import { canonicalSize, writeCanonical } from '../fields.js';
import { RootBuilder } from '../store/root.js';
import { Store } from '../store/store.js';
import { encodeError } from '../worker-error.js';
import { encodeMeta, errorJson, FRAME, HEADER_BYTES, ROW_BATCH } from './row-frames.js';
import { checkRoot, readFailure, rootTee } from './verify-baseline.js';

const OUT = 3;
const header = Buffer.alloc(HEADER_BYTES);

function writeAll(b: Buffer): void {
  for (let o = 0; o < b.length; ) o += writeSync(OUT, b, o, b.length - o);
}

function frame(kind: number, payload: Buffer): void {
  header.writeUInt8(kind, 0);
  header.writeUInt32LE(payload.length, 4);
  writeAll(header);
  writeAll(payload);
}

function send(database: string): void {
  const store = Store.open(database, { readonly: true });
  try {
    store.readTransaction(() => {
      const meta = store.requireBaseline();
      frame(FRAME.meta, Buffer.from(JSON.stringify(encodeMeta(meta))));
      let batch = Buffer.allocUnsafeSlow(ROW_BATCH);
      let view = new DataView(batch.buffer, 0, batch.length);
      let used = 0;
      const root = new RootBuilder(meta.format);
      // Formats 2 and 3 hash the very bytes written for the check (the root's own canonical bytes);
      // format 1 other ones, from the record.
      const rows =
        meta.format >= 2 ? store.records(meta.id) : rootTee(store, meta, store.records(meta.id), root);
      try {
        for (const { key, record } of rows) {
          const n = canonicalSize(key, record, 2);
          if (used + n > batch.length) {
            if (used > 0) frame(FRAME.rows, batch.subarray(0, used));
            used = 0;
            if (n > batch.length) {
              batch = Buffer.allocUnsafeSlow(n);
              view = new DataView(batch.buffer, 0, batch.length);
            }
          }
          const start = used;
          used = writeCanonical(batch, view, used, key, record, 2);
          if (meta.format >= 2) root.addCanonical(key, batch.subarray(start, used));
        }
      } catch (err) {
        throw readFailure(store, meta, err);
      }
      checkRoot(store, meta, root);
      if (used > 0) frame(FRAME.rows, batch.subarray(0, used));
      frame(FRAME.end, Buffer.alloc(0));
    });
  } finally {
    store.close();
  }
}

try {
  send(process.argv[2] ?? '');
} catch (err) {
  try {
    frame(FRAME.fail, Buffer.from(errorJson(encodeError(err))));
  } catch {
    // The check closed its end (it reads the rows itself, or it ended): nobody to tell.
  }
  process.exitCode = 1;
}
