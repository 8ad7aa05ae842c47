/**
 * The scanner: walks the trees the policy names, by bytes, never following a symlink, and yields
 * one item per entry in key order (see path-key.ts), so callers can store or compare while it runs.
 *
 * Every file-system call after the first goes through a directory descriptor: statx(2) and
 * openat(2) relative to it where libc can be used (src/sys/libc.ts; one name resolved, never a
 * final symlink followed), else "/proc/self/fd/N/name". A plain path would be resolved again at
 * each call, so a directory swapped for a symlink mid-walk would lead the walk out of the tree;
 * and each path stays short, so a tree deeper than PATH_MAX still scans. Listing a directory is
 * getdents64(2) on its descriptor (dir.ts).
 *
 * A walk can share its work (ScanOptions.split): between two subdirectories it may hand the last
 * one still to walk in its outermost open directory to another thread, opened and checked here,
 * as that descriptor; the other thread walks it with `runUnit`, never by its path.
 *
 * It must not: follow symlinks, open FIFOs, sockets or devices, crash on an unreadable or vanishing
 * entry, or hold more than one directory listing per level in memory.
 */
import { errnoCode } from '../errors.js';
import { components, joinPath, pathToKey } from '../path-key.js';
import type { Rule } from '../policy/policy.js';
import { isExcluded, sortedChildNames, type TrieNode } from '../policy/rule-index.js';
import { adoptFd, closeFd, handOverFd } from '../sys/libc.js';
import type { FileRecord } from '../types.js';
import { listDirNames, listNames, openChecked } from './dir.js';
import { type EntryAt, type EntryStat, entryAt, statEntry } from './entry-stat.js';
import { type Done, RecordReader } from './record.js';
import type { Handoff, ScanOptions, ScanStats } from './scan-types.js';
import { buildScopeTrie, mergeNames, type Scope } from './scope.js';

export type { Handoff, ScanItem, ScanOptions, ScanSplit, ScanStats } from './scan-types.js';
export { addStats } from './scan-types.js';

/** What walking into an open directory needs to know of it. */
interface Place {
  path: Buffer;
  tnode: TrieNode | undefined;
  ctx: Ctx | undefined;
  scope: Scope;
  listing: boolean;
}

/** A directory the walk will enter once its parent's entries are all recorded. */
interface Descent extends Place {
  /** A path for it (the walk's root), or null: reached through `at`. */
  access: string | Buffer | null;
  at: EntryAt | undefined;
  st: EntryStat;
}

/**
 * One open directory of the walk: its subdirectories still to walk, in order. A number is a
 * subtree handed to another thread (ScanOptions.split): its items are spliced in at that place.
 */
interface Level {
  below: (Descent | number)[];
  next: number;
}

interface Ctx {
  rule: Rule;
  depth: number;
  excluded: boolean;
}

export class Scanner {
  readonly stats: ScanStats = { entries: 0, recorded: 0, files: 0, bytes: 0n, hashedBytes: 0n, errors: 0 };
  private readonly reader: RecordReader;
  private lastProgress = 0;
  private readonly scopeDepth: number;
  /** The open directories, outermost first (what a split can hand over). */
  private readonly levels: Level[] = [];

  constructor(private readonly opts: ScanOptions) {
    this.scopeDepth = opts.scopeDepth ?? Number.POSITIVE_INFINITY;
    this.reader = new RecordReader({
      noHash: opts.noHash ?? false,
      fast: opts.fast ?? false,
      ...(opts.lookup ? { lookup: opts.lookup } : {}),
    });
  }

  run(): ScanStats {
    return this.walk();
  }

  /**
   * Walk a subtree another thread's walk handed over (ScanOptions.split): its directory is open
   * as `h.fd`, already checked against its lstat there; it is closed here when done.
   */
  runUnit(h: Handoff): ScanStats {
    adoptFd(h.fd);
    let tnode: TrieNode | undefined = this.opts.index.root;
    for (const c of components(h.path)) tnode = tnode?.children.get(c.toString('latin1'));
    const rule = h.rule === null ? undefined : this.opts.index.ruleNamed(h.rule);
    if (h.rule !== null && !rule) {
      closeFd(h.fd);
      throw new Error(`scan unit: no rule named ${h.rule}`);
    }
    const ctx = rule ? { rule, depth: h.depth, excluded: h.excluded } : undefined;
    this.walkOpen(h.fd, { path: h.path, tnode, ctx, scope: h.scope, listing: h.listing });
    return this.stats;
  }

  private walk(): ScanStats {
    const { index, scope } = this.opts;
    const scopeRoot: Scope = scope && scope.length > 0 ? buildScopeTrie(scope, index) : 0;
    const root = Buffer.from('/');
    const rootCtx: Ctx | undefined = index.root.rule
      ? { rule: index.root.rule, depth: 0, excluded: false }
      : undefined;
    const scopeState = typeof scopeRoot !== 'number' && scopeRoot.rule ? 0 : scopeRoot;
    const d = this.entry(root, '/', index.root, rootCtx, scopeState);
    if (d) this.descend(d);
    this.opts.onProgress?.(this.stats);
    return this.stats;
  }

  /**
   * Visit one entry: `access` is how to reach it without re-resolving its parents. A directory to
   * walk into is returned, not walked: its parent's other entries come first (see path-key.ts).
   */
  private entry(
    path: Buffer,
    access: string | Buffer | null,
    tnode: TrieNode | undefined,
    ctx: Ctx | undefined,
    scope: Scope,
    at?: EntryAt,
  ): Descent | undefined {
    if (ctx && !ctx.excluded && isExcluded(ctx.rule, path) !== undefined) ctx = { ...ctx, excluded: true };
    const recordable =
      ctx !== undefined && !ctx.excluded && ctx.depth <= ctx.rule.recurse && typeof scope === 'number';
    const leadsOn = (tnode !== undefined && tnode.children.size > 0) || typeof scope !== 'number';
    if (!recordable && !leadsOn && !tnode?.rule) return undefined;

    let st: EntryStat;
    try {
      st = statEntry(access ?? path, at);
    } catch (err) {
      const code = errnoCode(err) ?? 'EIO';
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        const rule = tnode?.rule;
        if (rule && typeof scope === 'number') this.opts.onMissing?.(path, rule);
        else if (tnode) this.missingBelow(path, tnode, scope);
        return undefined;
      }
      const rule = recordable ? ctx?.rule : undefined;
      if (rule) this.error(path, rule, code, `cannot lstat: ${code}`, null);
      else if (tnode) this.unreachableBelow(path, tnode, scope, code, `cannot lstat ${code}`);
      return undefined;
    }
    this.stats.entries++;
    const isDir = st.type === 'dir';
    if (recordable && ctx) this.record(path, access, st, ctx.rule, at);

    if (!isDir) {
      // Rule paths below something that is not a directory: a symlinked parent is never followed.
      if (tnode && tnode.children.size > 0) {
        const link = st.type === 'symlink';
        const why = link ? 'ESYMLINKPARENT' : 'ENOTDIR';
        const text = link ? 'a parent directory is a symlink (not followed)' : 'a parent is not a directory';
        this.unreachableBelow(path, tnode, scope, why, text);
      }
      return undefined;
    }
    const listing =
      recordable && ctx !== undefined && ctx.depth < ctx.rule.recurse && (scope as number) < this.scopeDepth;
    if (!listing && !leadsOn) return undefined;
    return { path, access, at, st, tnode, ctx, scope, listing };
  }

  /** Walk into a directory: all its entries first, then its subdirectories, in name order. */
  private descend(d: Descent): void {
    const fd = openChecked(d.access, d.at, d.st);
    if (fd === null) return;
    if (typeof fd !== 'number') {
      this.cannotList(d.path, d.ctx, d.tnode, d.scope, fd.code, fd.why);
      return;
    }
    this.walkOpen(fd, d);
  }

  /** The walk of an open, checked directory; closes `fd`. */
  private walkOpen(fd: number, d: Place): void {
    const { path, tnode, ctx, scope, listing } = d;
    try {
      const rule = listing ? ctx?.rule : undefined;
      if (rule) this.opts.onDirectory?.(path, rule);
      let listed: Buffer[] = [];
      if (listing) {
        try {
          const only = this.opts.dirsOnly;
          if (only && ctx && !only.keepFiles(ctx.rule)) {
            const l = listDirNames(fd);
            this.stats.files += l.files;
            listed = l.names;
          } else listed = listNames(fd);
        } catch (err) {
          const code = errnoCode(err) ?? 'EIO';
          this.cannotList(path, ctx, tnode, scope, code, `cannot list directory: ${code}`);
        }
      }
      let names: Buffer[];
      if (typeof scope === 'number') names = mergeNames(listed, tnode ? sortedChildNames(tnode) : []);
      else names = sortedChildNames(scope);
      const below: Descent[] = [];
      for (const name of names) {
        const k = name.toString('latin1');
        const childT = tnode?.children.get(k);
        let childScope: Scope | undefined;
        if (typeof scope === 'number') childScope = scope + 1;
        else {
          const sn = scope.children.get(k);
          childScope = sn?.rule ? 0 : sn;
        }
        if (childScope === undefined) continue;
        const childCtx: Ctx | undefined = childT?.rule
          ? { rule: childT.rule, depth: 0, excluded: false }
          : ctx
            ? { rule: ctx.rule, depth: ctx.depth + 1, excluded: ctx.excluded }
            : undefined;
        const sub = this.entry(joinPath(path, name), null, childT, childCtx, childScope, entryAt(fd, name));
        if (sub) below.push(sub);
      }
      // The directory stays open while its subdirectories are walked: their access paths go
      // through its descriptor.
      const level: Level = { below, next: 0 };
      this.levels.push(level);
      try {
        while (level.next < below.length) {
          const sub = level.below[level.next++]!;
          if (typeof sub === 'number') this.opts.split?.splice(sub);
          else {
            if (this.opts.split?.wanted()) this.offer();
            this.descend(sub);
          }
        }
      } finally {
        this.levels.pop();
      }
    } finally {
      closeFd(fd);
    }
  }

  /**
   * Another thread wants work: hand it the last subdirectory still to walk in the outermost open
   * directory that has one (the largest piece, and the furthest from where this walk is). It is
   * opened and checked here, as the walk would, so the other thread starts from a descriptor; a
   * directory that cannot be opened stays here, for the walk to report.
   */
  private offer(): void {
    const split = this.opts.split;
    if (!split?.claim()) return;
    for (const lv of this.levels) {
      for (let i = lv.below.length - 1; i >= lv.next; i--) {
        const d = lv.below[i]!;
        if (typeof d === 'number' || typeof d.scope !== 'number') continue;
        const fd = openChecked(d.access, d.at, d.st);
        if (typeof fd !== 'number') continue;
        const c = d.ctx;
        handOverFd(fd);
        lv.below[i] = split.hand({
          path: d.path,
          fd,
          rule: c ? c.rule.name : null,
          depth: c ? c.depth : 0,
          excluded: c ? c.excluded : false,
          listing: d.listing,
          scope: d.scope,
        });
        return;
      }
    }
    split.release();
  }

  private record(
    path: Buffer,
    access: string | Buffer | null,
    st: EntryStat,
    rule: Rule,
    at?: EntryAt,
  ): void {
    const key = pathToKey(path);
    this.done(key, path, rule, this.reader.read(key, path, access, st, rule, at));
  }

  private done(key: Buffer, path: Buffer, rule: Rule, r: Done): void {
    if (r.kind === 'vanished') return;
    if (r.kind === 'error') {
      this.error(path, rule, r.code, r.message, r.record, key);
      return;
    }
    this.stats.hashedBytes += r.hashedBytes;
    this.emitRecord(key, r.record, rule);
  }

  private emitRecord(key: Buffer, record: FileRecord, rule: Rule): void {
    this.stats.recorded++;
    if (record.type === 'file') {
      this.stats.files++;
      this.stats.bytes += record.size;
    }
    this.opts.onItem({ kind: 'record', key, record, rule });
    this.progress();
  }

  private error(
    path: Buffer,
    rule: Rule,
    code: string,
    message: string,
    record: FileRecord | null,
    key = pathToKey(path),
  ): void {
    this.stats.errors++;
    this.stats.recorded++;
    this.opts.onItem({ kind: 'error', key, error: { path, code, message }, rule, record });
  }

  /** A directory we could not list (or open): report it and let callers suppress "removed" below it. */
  private cannotList(
    path: Buffer,
    ctx: Ctx | undefined,
    tnode: TrieNode | undefined,
    scope: Scope,
    code: string,
    message: string,
  ): void {
    if (ctx && !ctx.excluded && typeof scope === 'number') {
      this.stats.errors++;
      this.opts.onItem({
        kind: 'unlisted',
        key: pathToKey(path),
        error: { path, code, message },
        rule: ctx.rule,
      });
    } else if (tnode) {
      this.unreachableBelow(path, tnode, scope, code, message);
    }
  }

  /** Every rule path below `path` is missing (a parent does not exist). */
  private missingBelow(path: Buffer, tnode: TrieNode, scope: Scope): void {
    for (const name of sortedChildNames(tnode)) {
      const child = tnode.children.get(name.toString('latin1'))!;
      const childPath = joinPath(path, name);
      if (child.rule && this.inScope(childPath, scope)) this.opts.onMissing?.(childPath, child.rule);
      this.missingBelow(childPath, child, scope);
    }
  }

  /** Every rule path below `path` cannot be reached: an error for each, with "removed" suppressed. */
  private unreachableBelow(path: Buffer, tnode: TrieNode, scope: Scope, code: string, message: string): void {
    for (const name of sortedChildNames(tnode)) {
      const child = tnode.children.get(name.toString('latin1'))!;
      const childPath = joinPath(path, name);
      if (child.rule && this.inScope(childPath, scope)) {
        this.stats.errors++;
        this.opts.onItem({
          kind: 'unlisted',
          key: pathToKey(childPath),
          error: { path: childPath, code, message },
          rule: child.rule,
        });
      }
      this.unreachableBelow(childPath, child, scope, code, message);
    }
  }

  private inScope(_path: Buffer, scope: Scope): boolean {
    // Below a scope path everything is in; on the way to one, rule paths are reported only once
    // the walk reaches the scope itself, which it cannot here.
    return typeof scope === 'number';
  }

  private progress(): void {
    if (!this.opts.onProgress) return;
    const now = Date.now();
    if (now - this.lastProgress >= 100) {
      this.lastProgress = now;
      this.opts.onProgress(this.stats);
    }
  }
}

export function scanTree(opts: ScanOptions): ScanStats {
  return new Scanner(opts).run();
}
