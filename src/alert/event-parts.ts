/**
 * What each event says: its structured-data parameters (fixed ones, and cuttable untrusted or
 * unbounded text, already in display form) and its human message. The formatter (format.ts) puts
 * them in RFC 5424 form, cuts what does not fit and signs; this module must not do either, nor
 * emit raw untrusted text (everything from the host goes through `safeText`).
 */
import { SEVERITIES } from '../types.js';
import type { WireEvent } from './events.js';
import { SEVERITY_PARAM, safeText } from './sd.js';

export type Params = Array<[string, string]>;

/** Fields of an event: fixed ones, and cuttable (untrusted or unbounded) text in display form. */
export interface Parts {
  fixed: Params;
  cuttable: Params;
  msg: (v: Map<string, string>) => string;
}

function idText(id: string | number): string {
  return safeText(String(id));
}

export function parts(ev: WireEvent): Parts {
  switch (ev.type) {
    case 'finding': {
      const attrs = ev.attributes.map((a) => safeText(a)).join(',');
      return {
        fixed: [
          ['kind', ev.kind],
          ['sev', ev.severity],
          ['attrs', attrs],
          ['jid', idText(ev.journalId)],
          // Hex digests from our own hasher, where the rule keeps them; never cut.
          ...(ev.sha256?.old ? [['sha256old', safeText(ev.sha256.old)] as [string, string]] : []),
          ...(ev.sha256?.new ? [['sha256', safeText(ev.sha256.new)] as [string, string]] : []),
        ],
        cuttable: [
          ['path', safeText(ev.path)],
          ['rule', safeText(ev.rule)],
          // Package names and versions come from files on the host: escaped and cut like a path.
          ...(ev.explanation ? [['expl', safeText(ev.explanation)] as [string, string]] : []),
          // exe and arguments are the writer's bytes: escaped and cut like a path, cut first.
          ...(ev.who ? [['who', safeText(ev.who)] as [string, string]] : []),
        ],
        msg: (v) =>
          `${ev.kind} ${v.get('path')}${attrs ? ` (${attrs})` : ''} rule=${v.get('rule')} severity=${ev.severity} journal=${idText(ev.journalId)}`,
      };
    }
    case 'start': {
      const fixed: Params = [
        ['root', safeText(ev.baselineRoot ?? '-')],
        ['policy', safeText(ev.policyHash)],
      ];
      if (ev.kind !== undefined) fixed.push(['kind', safeText(ev.kind)]);
      if (ev.watcher !== undefined) fixed.push(['watcher', safeText(ev.watcher)]);
      // The chain: '-' for a database's first session, '?' when the database could not say.
      if (ev.prev !== undefined) {
        const p = ev.prev;
        fixed.push(
          ['prev', p === null ? '-' : safeText(p.sid)],
          ['prevseq', p === null ? '0' : String(p.seq)],
          ['prevdig', p === null ? '-' : safeText(p.digest)],
        );
      }
      return {
        fixed,
        cuttable: [],
        msg: () =>
          `fim ${safeText(ev.kind ?? 'session')} started, baseline ${safeText(ev.baselineRoot ?? 'none')}`,
      };
    }
    case 'stop':
      return {
        fixed: ev.count !== undefined ? [['count', String(ev.count)]] : [],
        cuttable: [['reason', safeText(ev.reason)]],
        msg: (v) => `fim stopped: ${v.get('reason')}`,
      };
    case 'handover':
      return {
        fixed: [
          ['master', safeText(ev.master)],
          ['start', String(ev.startMs)],
          ['epochms', String(ev.epochMs)],
          ['epochs', String(ev.epochs)],
          ['fp', safeText(ev.fingerprint)],
        ],
        cuttable: [],
        msg: () => `keys rotated: the host now signs with the key set ${safeText(ev.fingerprint)}`,
      };
    case 'pause':
      return {
        fixed: [
          ['paused', String(Math.round(ev.pausedMs))],
          ['expected', String(Math.round(ev.expectedMs))],
        ],
        cuttable: [],
        msg: () =>
          `fim was paused for ${Math.round(ev.pausedMs / 1000)} s (stopped, frozen or starved): nothing was watched meanwhile`,
      };
    case 'heartbeat': {
      const fixed: Params = [['root', safeText(ev.baselineRoot ?? '-')]];
      if (ev.keysExpireMs !== undefined) fixed.push(['expires', String(Math.floor(ev.keysExpireMs))]);
      const st = ev.status;
      if (st) {
        fixed.push(
          ['watched', String(st.watchedDirs)],
          ['unwatched', String(st.unwatchedDirs)],
          ['files', String(st.files)],
          ['dirty', String(st.dirty)],
          ['open', String(st.openFindings)],
          ['fullcheck', st.lastFullCheckNs === null ? '-' : st.lastFullCheckNs.toString()],
        );
        const sev = st.openBySeverity;
        if (sev) for (const k of SEVERITIES) fixed.push([SEVERITY_PARAM[k], String(sev[k])]);
        if (st.watcher !== undefined) fixed.push(['watcher', safeText(st.watcher)]);
      }
      return {
        fixed,
        cuttable: [],
        msg: () =>
          `alive, baseline ${safeText(ev.baselineRoot ?? 'none')}${st ? `, ${st.watchedDirs} directories watched, ${st.unwatchedDirs} unwatched, ${st.dirty} dirty, ${st.openFindings} open findings` : ''}`,
      };
    }
    case 'summary': {
      const c = ev.counts;
      const fixed: Params = [
        ['root', safeText(ev.baselineRoot ?? '-')],
        ['scanned', String(c.scanned)],
        ['added', String(c.added)],
        ['removed', String(c.removed)],
        ['changed', String(c.changed)],
        ['errors', String(c.errors)],
      ];
      if (ev.runId !== undefined) fixed.push(['run', idText(ev.runId)]);
      const sev = ev.bySeverity;
      if (sev) for (const k of SEVERITIES) fixed.push([SEVERITY_PARAM[k], String(sev[k])]);
      return {
        fixed,
        cuttable: [],
        msg: () =>
          `check: ${c.scanned} scanned, ${c.added} added, ${c.removed} removed, ${c.changed} changed, ${c.errors} errors`,
      };
    }
    case 'baseline': {
      const fixed: Params = [['root', safeText(ev.root)]];
      if (ev.baselineId !== undefined) fixed.push(['id', idText(ev.baselineId)]);
      if (ev.deploy !== undefined) fixed.push(['deploy', safeText(ev.deploy)]);
      const cuttable: Params = ev.label !== undefined ? [['label', safeText(ev.label)]] : [];
      return { fixed, cuttable, msg: () => `new baseline, root ${safeText(ev.root)}` };
    }
    case 'accept':
      return {
        fixed: [
          ['root', safeText(ev.root)],
          ['count', String(ev.accepted)],
          ...(ev.deploy !== undefined ? [['deploy', safeText(ev.deploy)] as [string, string]] : []),
        ],
        cuttable: ev.label !== undefined ? [['label', safeText(ev.label)]] : [],
        msg: () => `accepted ${ev.accepted} changes, new baseline root ${safeText(ev.root)}`,
      };
    case 'error': {
      const cuttable: Params = [['text', safeText(ev.message)]];
      if (ev.path !== undefined) cuttable.push(['path', safeText(ev.path)]);
      return {
        fixed: [['code', safeText(ev.code)]],
        cuttable,
        msg: (v) =>
          `error ${safeText(ev.code)}: ${v.get('text')}${v.has('path') ? ` (${v.get('path')})` : ''}`,
      };
    }
    case 'reload':
      return {
        fixed: [
          ['old', safeText(ev.oldPolicy)],
          ['new', safeText(ev.newPolicy)],
          ['cfgold', safeText(ev.oldConfig)],
          ['cfgnew', safeText(ev.newConfig)],
          ['critical', ev.critical ? '1' : '0'],
        ],
        cuttable: [['changes', safeText(ev.changes)]],
        msg: (v) =>
          `${ev.critical ? 'CRITICAL: ' : ''}reloaded: policy ${safeText(ev.newPolicy)}; ${v.get('changes')}`,
      };
    case 'explained':
      return {
        fixed: [
          ['explained', String(ev.explained)],
          ['unexplained', String(ev.unexplained)],
          ['jidfirst', idText(ev.firstJournalId)],
          ['jidlast', idText(ev.lastJournalId)],
        ],
        cuttable: [
          ['manifest', safeText(ev.manifest)],
          ['pkg', safeText(`${ev.package}${ev.version ? ` ${ev.version}` : ''}`)],
        ],
        msg: (v) =>
          `deploy ${v.get('pkg')}: ${ev.explained} changes explained by signed manifest ${v.get('manifest')} (journal ${idText(ev.firstJournalId)}..${idText(ev.lastJournalId)}); ${ev.unexplained} not explained, alerted one by one`,
      };
    case 'flood': {
      const fixed: Params = [
        ['suppressed', String(ev.suppressed)],
        ['findings', String(ev.findings)],
        ['others', String(ev.others)],
        ['since', ev.sinceNs.toString()],
      ];
      if (ev.firstJournalId !== undefined) fixed.push(['jidfirst', idText(ev.firstJournalId)]);
      if (ev.lastJournalId !== undefined) fixed.push(['jidlast', idText(ev.lastJournalId)]);
      return {
        fixed,
        cuttable: [],
        msg: () =>
          `flood control: ${ev.suppressed} messages held back (${ev.findings} findings, ${ev.others} other); see the journal`,
      };
    }
  }
}
