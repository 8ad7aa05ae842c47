/**
 * What `watch.backend: auto` would pick on this host now, and why, for `fim watch --help`. A
 * module of its own so that the help text does not load the daemon (the CLI loads each command's
 * module only when it runs).
 */
import { fanotifyProblem } from '../watch/backend-choice.js';

/** fanotify where the process may use it (CAP_SYS_ADMIN, Linux 5.9+), inotify otherwise. */
export function watchBackendHere(): string {
  const problem = fanotifyProblem();
  return problem === null
    ? 'fanotify (this process holds CAP_SYS_ADMIN on Linux 5.9 or later)'
    : `inotify (fanotify cannot be used: ${problem})`;
}
