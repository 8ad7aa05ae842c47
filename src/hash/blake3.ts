/**
 * BLAKE3-256, the one importer of `@napi-rs/blake-hash`. A `Blake3` is reusable (`reset()`): a new
 * native hasher per file grew memory to gigabytes before the GC noticed. `digest()` does not
 * finalise the state, so more updates may follow (a growing file's prefix hash and its full hash
 * come out of one read).
 *
 * Digests are read as hex and converted: the package's `digestBuffer()` (1.3.4 and 1.3.6) leaks its
 * result's native memory (measured: +97 to +129 MB RSS over 300,000 calls, which made a scan's
 * memory grow with the number of files); `digest('hex')` does not.
 */
import { createRequire } from 'node:module';
import type { Blake3Hasher as Hasher } from '@napi-rs/blake-hash';

type Binding = { Blake3Hasher: typeof Hasher };

/**
 * The package's loader asks `process.report.getReport()` whether libc is musl before it loads its
 * binding: about 5 ms here, at every start of a command and of each worker thread. On x64 Linux
 * the glibc binding (its optional dependency) is loaded directly; where that fails (musl, another
 * layout) the loader decides, as it always did.
 */
function binding(): Binding {
  const require = createRequire(import.meta.url);
  if (process.platform === 'linux' && process.arch === 'x64') {
    try {
      return require('@napi-rs/blake-hash-linux-x64-gnu') as Binding;
    } catch {
      // not glibc, or not installed beside the package: the loader below finds the right one
    }
  }
  return require('@napi-rs/blake-hash') as Binding;
}
const { Blake3Hasher } = binding();

export class Blake3 {
  private readonly h = new Blake3Hasher();

  reset(): this {
    this.h.reset();
    return this;
  }

  update(data: Uint8Array | string): this {
    if (typeof data === 'string' || Buffer.isBuffer(data)) this.h.update(data);
    else this.h.update(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    return this;
  }

  /** The digest of everything since the last reset, as bytes. */
  digest(): Buffer {
    return Buffer.from(this.h.digest('hex'), 'hex');
  }

  /** The same digest as hex (no Buffer: long-lived small Buffers pin 8 KB pool slabs). */
  digestHex(): string {
    return this.h.digest('hex');
  }
}
