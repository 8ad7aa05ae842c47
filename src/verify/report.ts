/**
 * Presentation of verify-log results: one line per problem (streamed as they are found) and a
 * per-host text summary. The JSON form is the VerifyReport itself (it holds no bigint). It formats
 * and returns strings: it must not print, nor compute anything the report does not already hold.
 */
import { displayBytes } from '../display.js';
import type { Problem, VerifyReport } from './problems.js';

/** Report text is built from log content: keep it one line per item, whatever a line held. */
function safe(s: string): string {
  return displayBytes(Buffer.from(s, 'utf8'));
}

/**
 * One problem line. It always names a host: the verified one (`host=`), else the one the line's
 * header claims (`header-host=`, unverified), else `header-host=-` (the line names none), so an
 * alert built from the line says where to look.
 */
export function formatProblem(p: Problem): string {
  const named = p.host !== undefined || p.headerHost !== undefined;
  const where = [
    p.host !== undefined ? `host=${safe(p.host)}` : '',
    p.headerHost !== undefined ? `header-host=${safe(p.headerHost)}` : '',
    named ? '' : 'header-host=-',
    p.sid !== undefined ? `session=${p.sid}` : '',
    p.seq !== undefined ? `seq=${p.seq}` : '',
    p.line !== undefined ? `line=${p.line}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `PROBLEM ${p.kind}${where ? ` ${where}` : ''}: ${safe(p.detail)}`;
}

export function formatVerifyReport(r: VerifyReport): string {
  const out: string[] = [];
  out.push(`fim verify-log: ${r.lines} lines, ${r.malformed} malformed, ${r.foreign} from other programs`);
  for (const h of r.hosts) {
    out.push('');
    out.push(`host ${safe(h.host)}`);
    out.push(`  verified        ${h.verified}`);
    out.push(`  bad signature   ${h.badSignature}`);
    out.push(`  uncertified     ${h.uncertified}`);
    out.push(`  unsigned        ${h.unsigned}`);
    out.push(`  epoch mismatch  ${h.epochMismatch}`);
    out.push(`  duplicates      ${h.duplicates}`);
    out.push(`  missing         ${h.missingCount}`);
    out.push(`  restarts        ${h.restarts} (unclean ${h.uncleanRestarts})`);
    if (h.replays > 0) out.push(`  replays         ${h.replays}`);
    if (h.pauses > 0) out.push(`  pauses          ${h.pauses}`);
    if (h.keysExpire !== null)
      out.push(
        `  keys expire     ${h.keysExpire}${h.keysExpiring ? ' SOON: rotate them (fim keygen --rotate)' : ''}`,
      );
    out.push(`  baseline root   ${h.announcedRoot ?? '(none announced)'} (mismatches ${h.rootMismatches})`);
    const silent = h.silentForMs === null ? '' : `, ${Math.round(h.silentForMs / 1000)} s ago`;
    out.push(`  last message    ${h.lastMessage ?? 'never'}${silent}${h.silence ? ' SILENCE' : ''}`);
    for (const s of h.sessions) {
      const gaps = s.missingCount > 0 ? `, missing ${s.missing}` : '';
      out.push(
        `  session ${s.sid}${s.kind !== null ? ` (${safe(s.kind)})` : ''}: seq ${s.firstSeq}..${s.lastSeq}, ${s.verified} verified, ${s.duplicates} duplicates${gaps}${s.stopped ? ', stopped' : ''}`,
      );
    }
  }
  const unknown = Object.entries(r.unknownHosts);
  if (unknown.length > 0) {
    out.push('');
    out.push(`unknown hosts: ${unknown.map(([h, n]) => `${safe(h)} (${n})`).join(', ')}`);
  }
  out.push('');
  if (r.problemCount === 0) {
    out.push('OK: every message verified; no gaps, replays, silence or baseline changes.');
  } else {
    out.push(`${r.problemCount} problem(s):`);
    for (const p of r.problems) out.push(`  ${formatProblem(p)}`);
    if (r.problemsOmitted > 0) out.push(`  ... and ${r.problemsOmitted} more`);
  }
  return `${out.join('\n')}\n`;
}
