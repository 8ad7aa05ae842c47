import { fleetAck, fleetStatus } from '../api/fleet.js';
import { writeFileAtomicSync } from '../atomic-file.js';
import { displayBytes } from '../display.js';
import { ExitCode, errnoCode, StorageError, UsageError } from '../errors.js';
import { formatFleetHtml, formatFleetText } from '../fleet/render.js';
import { parseDuration } from '../policy/yaml-source.js';
import type { Output } from './context.js';

/** `fim fleet status`: the table (or JSON), the optional HTML page; exit 1 when a host needs attention. */
export function fleetStatusCommand(
  o: { state?: string; maxSilence?: string; json?: boolean; html?: string; quiet?: boolean },
  io: Output,
): number {
  const maxSilenceMs = o.maxSilence !== undefined ? parseDuration(o.maxSilence) : undefined;
  if (o.maxSilence !== undefined && (maxSilenceMs === undefined || maxSilenceMs <= 0))
    throw new UsageError('--max-silence must be a duration such as 5m');
  const status = fleetStatus({
    ...(o.state !== undefined ? { state: o.state } : {}),
    ...(maxSilenceMs !== undefined ? { maxSilenceMs } : {}),
  });
  if (o.html !== undefined) {
    try {
      // Readable by the web server that shows it; replaced whole, never half-written.
      writeFileAtomicSync(o.html, formatFleetHtml(status), { mode: 0o644 });
    } catch (err) {
      throw new StorageError(
        `--html ${displayBytes(Buffer.from(o.html))}: cannot write the page (${errnoCode(err) ?? String(err)})`,
        { cause: err },
      );
    }
  }
  if (o.json) io.out(`${JSON.stringify(status, null, 2)}\n`);
  else if (!o.quiet || status.attention > 0) io.out(formatFleetText(status));
  return status.attention > 0 ? ExitCode.attention : ExitCode.ok;
}

/** `fim fleet ack HOST...`: the hosts' problems so far are resolved; the status counts newer ones. */
export function fleetAckCommand(
  hosts: string[],
  o: { state?: string; json?: boolean; quiet?: boolean },
  io: Output,
): number {
  const acked = fleetAck({ hosts, ...(o.state !== undefined ? { state: o.state } : {}) });
  if (o.json) io.out(`${JSON.stringify(Object.fromEntries(acked), null, 2)}\n`);
  else if (!o.quiet)
    for (const [host, a] of acked) {
      const n = Object.values(a.problems).reduce((x, y) => x + y, 0);
      io.out(
        `${displayBytes(Buffer.from(host))}: ${n} problem(s) and ${a.missing} missing message(s) acknowledged\n`,
      );
    }
  return ExitCode.ok;
}
