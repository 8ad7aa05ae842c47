/**
 * Parsing of `syslog.target`: `udp://host:port` (port 514 by default), `tcp://host:port` (514) and
 * `tls://host:port` (6514, RFC 5425). Anything else is a UsageError naming the accepted forms.
 */
import { UsageError } from '../errors.js';

export type Protocol = 'udp' | 'tcp' | 'tls';

export interface SyslogTarget {
  protocol: Protocol;
  host: string;
  port: number;
}

const DEFAULT_PORT: Record<Protocol, number> = { udp: 514, tcp: 514, tls: 6514 };

export function parseTarget(text: string): SyslogTarget {
  const fail = (why: string): never => {
    throw new UsageError(
      `syslog target ${JSON.stringify(text)}: ${why}; expected udp://HOST[:PORT], tcp://HOST[:PORT] or tls://HOST[:PORT]`,
    );
  };
  const m = /^([a-z]+):\/\/(\[[0-9A-Fa-f:.]+\]|[^/:[\]\s]+)(?::(\d{1,5}))?\/?$/.exec(text);
  if (!m) return fail('not a target URL');
  const protocol = m[1]!;
  if (protocol !== 'udp' && protocol !== 'tcp' && protocol !== 'tls')
    return fail(`unknown protocol "${protocol}"`);
  let host = m[2]!;
  if (host.startsWith('[')) host = host.slice(1, -1);
  const port = m[3] === undefined ? DEFAULT_PORT[protocol] : Number(m[3]);
  if (port < 1 || port > 65535) return fail(`port ${port} is out of range`);
  return { protocol, host, port };
}

export function formatTarget(t: SyslogTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.protocol}://${host}:${t.port}`;
}
