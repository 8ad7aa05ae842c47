/**
 * Whether stdout is connected to journald. systemd sets JOURNAL_STREAM to the device and inode of
 * the stream it gave a service ("DEV:INO"); only when fd 1 is that very stream does a `<N>` prefix
 * mean a priority (on a terminal or a pipe it would be noise). See systemd.exec(5).
 */
import { fstatSync } from 'node:fs';

export function stdoutIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const m = /^(\d+):(\d+)$/.exec(env['JOURNAL_STREAM'] ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(1, { bigint: true });
    return st.dev === BigInt(m[1] ?? '') && st.ino === BigInt(m[2] ?? '');
  } catch {
    return false;
  }
}
