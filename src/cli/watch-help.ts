/** `fim watch --help`'s epilogue, apart from the command so that help does not load the daemon. */
import { watchBackendHere } from '../api/watch-backend.js';

/** How the watcher is chosen, and what it would be here, now. */
export function watchHelp(): string {
  return [
    '',
    'Watcher (watch.backend in fim.yaml: auto, inotify or fanotify): auto uses fanotify where the',
    'daemon holds CAP_SYS_ADMIN on Linux 5.9 or later (one mark per file system, writes through',
    'hard links made outside the tree, the writing process of each finding), inotify otherwise.',
    'The choice and its reason are in the start event and every heartbeat (watcher=).',
    `Here, auto would use: ${watchBackendHere()}`,
    '',
  ].join('\n');
}
