/**
 * A chain of directories far deeper than PATH_MAX, made and reached through directory descriptors
 * (/proc/self/fd/N/...), so each call's path stays short while the whole path is not: the odd-tree
 * tests' way to put a file where no path can name it whole.
 */
import { closeSync, constants, mkdirSync, openSync } from 'node:fs';

/** The name each level of the chain has. */
export const DEEP_NAME = 'dddddddddd';

/**
 * The bottom of a chain of `levels` (a multiple of 100) directories named DEEP_NAME below `top`,
 * open; made on the way down when `make`. The caller closes it.
 */
export function deepBottom(top: string, make: boolean, levels: number): number {
  const chunk = Array.from({ length: 100 }, () => DEEP_NAME).join('/');
  let fd = openSync(top, constants.O_RDONLY | constants.O_DIRECTORY);
  for (let i = 0; i < levels / 100; i++) {
    const next = `/proc/self/fd/${fd}/${chunk}`;
    if (make) mkdirSync(next, { recursive: true });
    const nfd = openSync(next, constants.O_RDONLY | constants.O_DIRECTORY);
    closeSync(fd);
    fd = nfd;
  }
  return fd;
}
