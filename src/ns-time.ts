/**
 * Times: nanoseconds since the epoch as bigints of any size, since a file system stores times from
 * before 1901 to past 2446 (tmpfs far beyond), and nanoseconds then exceed 64 bits. Owns their ISO
 * 8601 text and their split into seconds and nanoseconds for storage; never goes through Date,
 * whose range ends in the year 275760 (a RangeError that once crashed `fim check`).
 */

export const NS = 1_000_000_000n;

/** Floor division and its remainder for bigints (BigInt's `/` truncates toward zero). */
export function floorDiv(a: bigint, b: bigint): [bigint, bigint] {
  let q = a / b;
  let r = a % b;
  if (r < 0n) {
    q -= 1n;
    r += b;
  }
  return [q, r];
}

/** A day count since 1970-01-01 as a proleptic Gregorian date (H. Hinnant's civil_from_days). */
function civilFromDays(days: bigint): [bigint, number, number] {
  const z = days + 719468n;
  const [era] = floorDiv(z, 146097n);
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const d = doy - (153n * mp + 2n) / 5n + 1n;
  const m = mp < 10n ? mp + 3n : mp - 9n;
  return [yoe + era * 400n + (m <= 2n ? 1n : 0n), Number(m), Number(d)];
}

const two = (n: number | bigint) => n.toString().padStart(2, '0');

/**
 * Nanoseconds since the epoch as an ISO 8601 UTC time with all nine fractional digits, for any
 * time a file system can store: years past 9999 or before 0 get a sign and at least six digits
 * (ISO 8601's expanded form, as JavaScript writes them), never a RangeError from Date.
 */
export function nsToIso(ns: bigint): string {
  const [sec, frac] = floorDiv(ns, NS);
  const [days, sod] = floorDiv(sec, 86400n);
  const [y, m, d] = civilFromDays(days);
  const year =
    y >= 0n && y <= 9999n
      ? y.toString().padStart(4, '0')
      : `${y < 0n ? '-' : '+'}${(y < 0n ? -y : y).toString().padStart(6, '0')}`;
  const hh = sod / 3600n;
  const mm = (sod % 3600n) / 60n;
  const ss = sod % 60n;
  return `${year}-${two(m)}-${two(d)}T${two(hh)}:${two(mm)}:${two(ss)}.${frac.toString().padStart(9, '0')}Z`;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Nanoseconds as whole seconds (floor) and the nanoseconds past them; undefined past 64-bit seconds. */
export function splitTime(ns: bigint): { sec: bigint; nsec: number } | undefined {
  const [sec, nsec] = floorDiv(ns, NS);
  return sec < INT64_MIN || sec > INT64_MAX ? undefined : { sec, nsec: Number(nsec) };
}

export function fitsInt64(v: bigint): boolean {
  return v >= INT64_MIN && v <= INT64_MAX;
}
