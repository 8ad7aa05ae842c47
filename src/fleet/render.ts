/**
 * The fleet status for a person: a text table (one line per host, then drift groups and why each
 * host needs attention) and a static HTML page (hosts as rows, status colours, drift groups). Host
 * names, labels and problem details come from the state file, which holds what hosts sent: text is
 * kept to one line in display form, HTML is escaped. It formats and returns strings; no I/O.
 */
import { displayBytes } from '../display.js';
import { type FleetStatus, type HostStatus, severityText } from './status.js';

function safe(s: string): string {
  return displayBytes(Buffer.from(s, 'utf8'));
}

function age(ms: number | null): string {
  if (ms === null) return 'never';
  if (ms < 120_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}m`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)}h`;
  return `${Math.round(ms / 86_400_000)}d`;
}

function baseline(h: HostStatus): string {
  if (h.root === null) return '(none announced)';
  return `${h.label !== null ? `${safe(h.label)} ` : ''}${h.root.slice(0, 16)}`;
}

function findings(h: HostStatus): string {
  if (h.findings !== null) return severityText(h.findings);
  if (h.openFindings !== null) return `${h.openFindings} open`;
  return h.summaryFindings === null ? '-' : String(h.summaryFindings);
}

function problems(h: HostStatus): string {
  const total = Object.values(h.problems).reduce((n, c) => n + c, 0) + h.missingMessages;
  return total === 0 ? '0' : String(total);
}

/** A host's cells, in the order of the text table's columns and the page's. */
function cells(h: HostStatus): string[] {
  return [
    h.host,
    h.daemon,
    age(h.lastMessageAgeMs),
    age(h.heartbeatAgeMs),
    baseline(h),
    findings(h),
    problems(h),
  ];
}

export function formatFleetText(s: FleetStatus): string {
  const head = ['HOST', 'DAEMON', 'HEARD', 'HEARTBEAT', 'BASELINE', 'FINDINGS', 'PROBLEMS'];
  const rows = s.hosts.map((h) => cells(h).map((c, i) => (i === 0 ? safe(c) : c)));
  const widths = head.map((t, i) => Math.max(t.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [
    `fim fleet status: ${s.hosts.length} host(s), ${s.attention} need attention (silence limit ${Math.round(s.maxSilenceMs / 1000)} s, at ${s.now})`,
    '',
    line(head),
    ...rows.map(line),
  ];
  for (const g of s.drift) {
    out.push('');
    out.push(`DRIFT label ${safe(g.label)}: ${g.deploys.length} different deploys`);
    for (const d of g.deploys) out.push(`  deploy ${d.deploy}  ${d.hosts.map(safe).join(', ')}`);
  }
  const needy = s.hosts.filter((h) => h.attention.length > 0);
  if (needy.length > 0) out.push('');
  for (const h of needy) out.push(`ATTENTION ${safe(h.host)}: ${h.attention.map(safe).join('; ')}`);
  if (needy.length === 0)
    out.push('', "OK: every host is running, verified, on its peers' baseline, with nothing open.");
  return `${out.join('\n')}\n`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const COLOURS: Record<string, string> = {
  ok: '#d9f2d9',
  attention: '#ffe0b3',
  bad: '#ffc2c2',
};

function rowClass(h: HostStatus): string {
  if (h.attention.length === 0) return 'ok';
  return h.daemon === 'running' || h.daemon === 'no-daemon' ? 'attention' : 'bad';
}

/** A self-contained page: no script, no external resource (CSP forbids both). */
export function formatFleetHtml(s: FleetStatus): string {
  const cell = (t: string) => `<td>${esc(safe(t))}</td>`;
  const rows = s.hosts.map(
    (h) =>
      `<tr class="${rowClass(h)}" data-host="${esc(h.host)}">${[...cells(h), h.attention.join('; ') || 'OK']
        .map(cell)
        .join('')}</tr>`,
  );
  const drift = s.drift.map(
    (g) =>
      `<section class="drift"><h2>Drift: label ${esc(safe(g.label))}</h2><ul>${g.deploys
        .map((d) => `<li>deploy <code>${esc(d.deploy)}</code>: ${esc(d.hosts.map(safe).join(', '))}</li>`)
        .join('')}</ul></section>`,
  );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>fim fleet status</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #999; padding: 0.2em 0.6em; text-align: left; }
tr.ok { background: ${COLOURS.ok}; }
tr.attention { background: ${COLOURS.attention}; }
tr.bad { background: ${COLOURS.bad}; }
code { font-size: 0.9em; }
</style>
</head>
<body>
<h1>fim fleet status</h1>
<p id="summary">${s.hosts.length} host(s), ${s.attention} need attention, at ${esc(s.now)} (silence limit ${Math.round(s.maxSilenceMs / 1000)} s)</p>
<table id="hosts">
<thead><tr><th>Host</th><th>Daemon</th><th>Heard</th><th>Heartbeat</th><th>Baseline</th><th>Findings</th><th>Problems</th><th>Attention</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
${drift.join('\n')}
</body>
</html>
`;
}
