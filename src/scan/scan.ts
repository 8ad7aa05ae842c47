/**
 * The scanner: walks the trees the policy names, by bytes, never following a symlink, and yields
 * one item per entry in key order (see path-key.ts), so callers can store or compare while it runs.
 *
 * Every file-system call after the first goes through a directory descriptor: statx(2) and
 * openat(2) relative to it where libc can be used (src/sys/libc.ts; one name resolved, never a
 * final symlink followed), else "/proc/self/fd/N/name". A plain path would be resolved again at
 * each call, so a directory swapped for a symlink mid-walk would lead the walk out of the tree;
 * and each path stays short, so a tree deeper than PATH_MAX still scans. Listing a directory is
 * readdir of /proc/self/fd/N (Node has no fdopendir).
 *
 * It must not: follow symlinks, open FIFOs, sockets or devices, crash on an unreadable or vanishing
 * entry, or hold more than one directory listing per level in memory.
 */
import { errnoCode } from '../errors.js';
import { joinPath, pathToKey } from '../path-key.js';
import type { Rule } from '../policy/policy.js';
import { isExcluded, sortedChildNames, type TrieNode } from '../policy/rule-index.js';
import { closeFd } from '../sys/libc.js';
import { fstatOf } from '../sys/stat.js';
import type { FileRecord } from '../types.js';
import { listDirNames, listNames, openDir } from './dir.js';
import { type EntryAt, type EntryStat, entryAt, statEntry } from './entry-stat.js';
import { type Done, RecordReader } from './record.js';
import type { ScanOptions, ScanStats } from './scan-types.js';
import { buildScopeTrie, mergeNames, type Scope } from './scope.js';

export type { ScanItem, ScanOptions, ScanStats } from './scan-types.js';

/** A directory the walk will enter once its parent's entries are all recorded. */
interface Descent {
  path: Buffer;
  /** A path for it (the walk's root), or null: reached through `at`. */
  access: string | Buffer | null;
  at: EntryAt | undefined;
  st: EntryStat;
  tnode: TrieNode | undefined;
  ctx: Ctx | undefined;
  scope: Scope;
  listing: boolean;
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
    const { path, access, at, st, tnode, ctx, scope, listing } = d;
    let fd: number;
    try {
      fd = openDir(access, at);
    } catch (err) {
      const code = errnoCode(err) ?? 'EIO';
      if (code === 'ENOENT') return;
      const why =
        code === 'ELOOP' || code === 'ENOTDIR'
          ? 'replaced during the scan'
          : `cannot open directory: ${code}`;
      this.cannotList(path, ctx, tnode, scope, code, why);
      return;
    }
    try {
      const dst = fstatOf(fd);
      if (dst.ino !== st.ino || dst.dev !== st.dev) {
        this.cannotList(path, ctx, tnode, scope, 'ERACE', 'directory replaced between lstat and open');
        return;
      }
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
      for (const sub of below) this.descend(sub);
    } finally {
      closeFd(fd);
    }
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
