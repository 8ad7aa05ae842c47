/**
 * Explain, never suppress: a finding whose new content a manifest accounts for carries
 * `explanation` (which manifest, which package or deploy and version, how strong); a file a
 * manifest lists with other bytes, or a deploy's directory holds without listing it, is marked so
 * and keeps its severity: it is the one to look at. Only a signed deploy manifest lowers a
 * severity, by one step. Every finding is journaled and alerted as before, explained or not.
 *
 * The digests: a deploy manifest lists BLAKE3, compared with the record as scanned; pip's RECORD
 * lists SHA-256 and dpkg MD5, taken from the record where the rule keeps SHA-256, else read again
 * through a descriptor checked against the scanned inode, and believed only when that read's
 * BLAKE3 equals the scanned one (the bytes explained are the bytes found).
 *
 * It must not change what a finding says happened (kind, changes, record), nor read a manifest
 * twice in a run (each is loaded once, lazily), nor throw: a manifest that cannot be used is a note.
 */
import { lstatSync } from 'node:fs';
import { FileHasher } from '../hash/hash-file.js';
import { keyWithin, pathToKey } from '../path-key.js';
import type { Rule } from '../policy/policy.js';
import {
  type Explanation,
  type Finding,
  SEVERITIES,
  type Severity,
  STRENGTHS,
  type Strength,
} from '../types.js';
import { type DeployManifest, loadManifest, readDeployPublicKey } from './deploy.js';
import { DpkgIndex } from './dpkg.js';
import { PipIndex } from './pip.js';

export interface ExplainSettings {
  /** Public keys (files) whose deploy manifests this host trusts. */
  deployKeys: readonly string[];
  /** Where deploys leave their manifests. */
  deployManifests: readonly string[];
  /** dpkg's administrative directory (default /var/lib/dpkg). */
  dpkgAdminDir: string;
}

export const DEFAULT_DPKG_ADMIN_DIR = '/var/lib/dpkg';

export function strengthRank(s: Strength): number {
  return STRENGTHS.indexOf(s);
}

function lower(s: Severity): Severity {
  return SEVERITIES[Math.max(0, SEVERITIES.indexOf(s) - 1)] ?? s;
}

/**
 * Where no Debian package installs (FHS and Debian policy 9.1: site data, homes, scratch, virtual
 * file systems, the local hierarchy, logs, caches and spools): the dpkg database (about 95,000
 * paths here, 13 MB kept and 46 MB at its peak while read) is not even loaded for a finding there.
 */
const NOT_PACKAGED = new Set(['tmp', 'home', 'srv', 'root', 'run', 'mnt', 'media', 'proc', 'sys', 'dev']);
const NOT_PACKAGED_BELOW = [
  '/usr/local/',
  '/var/log/',
  '/var/cache/',
  '/var/spool/',
  '/var/tmp/',
  '/var/mail/',
];

function dpkgMayOwn(path: Buffer): boolean {
  const end = path.indexOf(0x2f, 1);
  if (NOT_PACKAGED.has(path.subarray(1, end < 0 ? path.length : end).toString('latin1'))) return false;
  const p = path.toString('latin1');
  return !NOT_PACKAGED_BELOW.some((d) => p.startsWith(d));
}

/**
 * One hasher (a native BLAKE3 state and a 1 MiB read buffer) for every explainer in this thread,
 * made the first time a manifest needs a digest the record lacks. The daemon makes an explainer
 * for every event rescan (so each reads the manifests as they are now), hundreds a second in a
 * storm: a hasher each was a 1 MiB buffer of garbage per rescan, most of the storm's peak.
 */
let sharedHasher: FileHasher | undefined;

export class Explainer {
  private deploys: DeployManifest[] | null = null;
  private readonly pip = new PipIndex();
  private readonly dpkg: DpkgIndex;
  private readonly notes: string[] = [];

  constructor(private readonly settings: ExplainSettings) {
    this.dpkg = new DpkgIndex(settings.dpkgAdminDir);
  }

  /** What could not be used (untrusted or altered manifests, unreadable RECORDs), for the report. */
  problems(): string[] {
    return [...this.notes, ...this.pip.problems, ...this.dpkg.problems];
  }

  /** Annotate one finding in place (see the module comment). */
  annotate(f: Finding, rule: Rule): void {
    if (rule.explain.length === 0 || f.kind === 'removed' || f.record.type !== 'file' || !f.record.content)
      return;
    const found: Explanation[] = [];
    if (rule.explain.includes('deploy')) found.push(...this.fromDeploys(f));
    let digests: { sha256: Buffer; md5: Buffer } | null | undefined;
    const reread = () => {
      digests ??= this.digestsOf(f);
      return digests;
    };
    if (rule.explain.includes('pip')) {
      const e = this.pip.lookup(f.path);
      const sha = e ? (f.record.sha256 ?? reread()?.sha256) : undefined;
      if (e && sha)
        found.push({
          source: 'pip',
          strength: 'pip-record',
          manifest: e.record,
          package: e.package,
          version: e.version,
          verdict: e.sha256.equals(sha) ? 'matches' : 'differs',
          digest: 'sha256',
        });
    }
    if (rule.explain.includes('dpkg') && dpkgMayOwn(f.path)) {
      const e = this.dpkg.lookup(f.path);
      const md5 = e ? reread()?.md5 : undefined;
      if (e && md5)
        found.push({
          source: 'dpkg',
          strength: 'package-db',
          manifest: e.list,
          package: e.package,
          version: e.version,
          verdict: e.md5.equals(md5) ? 'matches' : 'differs',
          digest: 'md5',
        });
    }
    // The strongest match explains it; with none, the strongest manifest that says otherwise.
    const byStrength = (a: Explanation, b: Explanation) =>
      strengthRank(b.strength) - strengthRank(a.strength);
    const best =
      found.filter((e) => e.verdict === 'matches').sort(byStrength)[0] ?? found.sort(byStrength)[0];
    if (!best) return;
    f.explanation = best;
    if (best.verdict === 'matches' && best.strength === 'signed-manifest') {
      f.severityBefore = f.severity;
      f.severity = lower(f.severity);
    }
  }

  private fromDeploys(f: Finding): Explanation[] {
    const out: Explanation[] = [];
    const key = f.path.toString('latin1');
    for (const m of this.loadDeploys()) {
      const self = f.path.equals(Buffer.from(m.file));
      if (!self && !keyWithin(pathToKey(f.path), pathToKey(m.root))) continue;
      const listed = m.entries.get(key);
      const verdict = self
        ? 'matches'
        : listed === undefined
          ? 'unlisted'
          : listed.equals(f.record.content!)
            ? 'matches'
            : 'differs';
      out.push({
        source: 'deploy',
        strength: 'signed-manifest',
        manifest: Buffer.from(m.file),
        package: m.name,
        version: m.version,
        verdict,
        digest: 'blake3',
      });
    }
    return out;
  }

  private loadDeploys(): DeployManifest[] {
    if (this.deploys) return this.deploys;
    this.deploys = [];
    const trusted: Buffer[] = [];
    for (const k of this.settings.deployKeys) {
      try {
        trusted.push(readDeployPublicKey(k));
      } catch (err) {
        this.notes.push((err as Error).message);
      }
    }
    for (const file of this.settings.deployManifests) {
      const r = loadManifest(file, trusted);
      if (r.ok) this.deploys.push(r.manifest);
      else this.notes.push(`${r.problem}; its files are not explained by it`);
    }
    return this.deploys;
  }

  /** SHA-256 and MD5 of the bytes the scan found, or null when the file is no longer those bytes. */
  private digestsOf(f: Finding): { sha256: Buffer; md5: Buffer } | null {
    try {
      const st = lstatSync(f.path, { bigint: true });
      if (!st.isFile() || st.ino !== f.record.inode || st.dev !== f.record.dev) return null;
      sharedHasher ??= new FileHasher();
      const h = sharedHasher.hash(f.path, st, undefined, { sha256: true, md5: true });
      if (!h.ok || !h.sha256 || !h.md5 || !f.record.content || !h.content.equals(f.record.content))
        return null;
      return { sha256: h.sha256, md5: h.md5 };
    } catch {
      return null;
    }
  }
}
