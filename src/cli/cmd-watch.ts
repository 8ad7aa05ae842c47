import { watch } from '../api/watch.js';
import { type CommonOptions, type Output, sessionOf } from './context.js';

/** `fim watch`: one line per event on stdout, with `<N>` priority prefixes for journald. */
export function watchCommand(o: CommonOptions, io: Output): Promise<number> {
  return watch({
    ...sessionOf(o),
    log: (pri, msg) => io.out(`<${pri}>${msg.replace(/[\r\n]+/g, '; ')}\n`),
  });
}
