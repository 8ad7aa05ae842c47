/**
 * The daemon never acts on a baseline record it has not verified. The whole baseline is verified
 * against its signed root at start, at every full check and when a new baseline is adopted; between
 * those, event rescans read a few records at a time, which the root cannot vouch for alone. So at
 * adoption the daemon also keeps one digest per directory (BLAKE3 over the canonical bytes of its
 * entries' records, 16 bytes: about 100 bytes of memory a directory), derived from the records it
 * just verified; before an event rescan it re-reads the directories the rescan touches and compares.
 * A mismatch is a BaselineIntegrityError: the record was edited while fim watched.
 */

import { displayBytes } from '../display.js';
import { BaselineIntegrityError } from '../errors.js';
import { canonicalRecord } from '../fields.js';
import { Blake3 } from '../hash/blake3.js';
import { keyAsDir, keyToPath, pathToKey, splitKey } from '../path-key.js';
import type { Store } from '../store/store.js';

const hasher = new Blake3();

/** The key of the directory whose entries have `code` as their parent (inverse of keyAsDir). */
function codeToKey(code: Buffer): Buffer {
  if (code.length === 0) return code;
  const out = Buffer.from(code);
  out[out.lastIndexOf(0) + 1] = 0;
  return out;
}

export class DirectoryDigests {
  private readonly digests = new Map<string, string>();

  private constructor(readonly baselineId: number) {}

  /** Digests of every directory of a baseline that was just verified against its root. */
  static build(store: Store, baselineId: number): DirectoryDigests {
    const d = new DirectoryDigests(baselineId);
    let cur: Buffer | null = null;
    for (const { key, record } of store.records(baselineId)) {
      const { parent } = splitKey(key);
      if (cur === null || !parent.equals(cur)) {
        if (cur !== null) d.digests.set(cur.toString('latin1'), hasher.digestHex().slice(0, 32));
        cur = Buffer.from(parent);
        hasher.reset();
      }
      hasher.update(canonicalRecord(key, record));
    }
    if (cur !== null) d.digests.set(cur.toString('latin1'), hasher.digestHex().slice(0, 32));
    return d;
  }

  get size(): number {
    return this.digests.size;
  }

  /** Re-read the directory whose entries have parent code `code` and compare; throws on a mismatch. */
  private verifyCode(store: Store, code: Buffer): void {
    const expected = this.digests.get(code.toString('latin1'));
    hasher.reset();
    let n = 0;
    for (const { key, record } of store.recordsUnderMany(this.baselineId, [codeToKey(code)], 1)) {
      if (!splitKey(key).parent.equals(code)) continue;
      hasher.update(canonicalRecord(key, record));
      n++;
    }
    const actual = n === 0 ? undefined : hasher.digestHex().slice(0, 32);
    if (actual === expected) return;
    const dir = displayBytes(keyToPath(codeToKey(code)));
    throw new BaselineIntegrityError(
      `baseline ${this.baselineId}: the records of directory ${dir} no longer match the signed root: the database was edited while fim watched. Do not trust it.`,
    );
  }

  /**
   * Verify what an event rescan of `paths` will read: each path's directory, and for a deep rescan
   * of a directory every directory below it; `depth` 1 is a directory and its entries.
   */
  verify(store: Store, paths: readonly Buffer[], depth: number | undefined): void {
    // A newer baseline (fim accept) may have pruned this one's records: the daemon adopts it at
    // its next poll, after verifying it whole, and these digests go with the old one.
    if (store.latestBaselineId() !== this.baselineId) return;
    // Each directory once per rescan, however many of its entries the rescan names: a storm's
    // rescan names dozens of files of one directory, and read it again for each (measured: the
    // digests' reads were a third of the daemon's work in a 10,000-file storm).
    const codes = new Set<string>();
    for (const p of paths) {
      const key = pathToKey(p);
      if (key.length > 0) codes.add(splitKey(key).parent.toString('latin1'));
      const own = keyAsDir(key);
      if (depth === 1) {
        if (this.digests.has(own.toString('latin1'))) codes.add(own.toString('latin1'));
        continue;
      }
      const prefix = own.toString('latin1');
      for (const code of this.digests.keys()) {
        if (code === prefix || (code.startsWith(prefix) && code.charCodeAt(prefix.length) === 0))
          codes.add(code);
      }
    }
    for (const code of codes) this.verifyCode(store, Buffer.from(code, 'latin1'));
  }
}
