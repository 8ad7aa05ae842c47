/**
 * File capabilities (the `security.capability` extended attribute, struct vfs_ns_cap_data) in the
 * form `getcap` prints: `cap_setuid=ep`, `cap_net_admin,cap_net_raw=ep`, `=ep` for all of them,
 * `=p cap_chown-p` for all but one (libcap's cap_to_text: the most common state of all known
 * capabilities first, then the others as differences). A v3 value's root uid, which decides in
 * which user namespace the capabilities apply, is shown as `[rootid=N]`. Anything the kernel would
 * not have written is shown as its bytes in hex, never guessed at.
 */

/** Capability numbers to names (linux/capability.h), up to CAP_CHECKPOINT_RESTORE (40). */
const NAMES = [
  'chown',
  'dac_override',
  'dac_read_search',
  'fowner',
  'fsetid',
  'kill',
  'setgid',
  'setuid',
  'setpcap',
  'linux_immutable',
  'net_bind_service',
  'net_broadcast',
  'net_admin',
  'net_raw',
  'ipc_lock',
  'ipc_owner',
  'sys_module',
  'sys_rawio',
  'sys_chroot',
  'sys_ptrace',
  'sys_pacct',
  'sys_admin',
  'sys_boot',
  'sys_nice',
  'sys_resource',
  'sys_time',
  'sys_tty_config',
  'mknod',
  'lease',
  'audit_write',
  'audit_control',
  'setfcap',
  'mac_override',
  'mac_admin',
  'syslog',
  'wake_alarm',
  'block_suspend',
  'audit_read',
  'perfmon',
  'bpf',
  'checkpoint_restore',
].map((n) => `cap_${n}`);

const REVISION_MASK = 0xff000000;
const EFFECTIVE = 0x000001;
const V1 = 0x01000000;
const V2 = 0x02000000;
const V3 = 0x03000000;
const EFF = 1;
const INH = 2;
const PER = 4;

export interface DecodedCaps {
  permitted: bigint;
  inheritable: bigint;
  effective: boolean;
  rootid: number | null;
}

/** The sets a capability xattr holds, or undefined when it is not one the kernel writes. */
export function decodeCaps(v: Buffer): DecodedCaps | undefined {
  if (v.length < 4) return undefined;
  const magic = v.readUInt32LE(0);
  const rev = (magic & REVISION_MASK) >>> 0;
  const effective = (magic & EFFECTIVE) !== 0;
  if ((magic & ~(REVISION_MASK | EFFECTIVE)) !== 0) return undefined;
  if (rev === V1 && v.length === 12)
    return {
      permitted: BigInt(v.readUInt32LE(4)),
      inheritable: BigInt(v.readUInt32LE(8)),
      effective,
      rootid: null,
    };
  if ((rev === V2 && v.length === 20) || (rev === V3 && v.length === 24)) {
    const permitted = BigInt(v.readUInt32LE(4)) | (BigInt(v.readUInt32LE(12)) << 32n);
    const inheritable = BigInt(v.readUInt32LE(8)) | (BigInt(v.readUInt32LE(16)) << 32n);
    return { permitted, inheritable, effective, rootid: rev === V3 ? v.readUInt32LE(20) : null };
  }
  return undefined;
}

const flagText = (f: number) => `${f & EFF ? 'e' : ''}${f & INH ? 'i' : ''}${f & PER ? 'p' : ''}`;

/** The getcap text of a capability xattr's value. */
export function capsText(v: Buffer): string {
  const d = decodeCaps(v);
  if (!d) return `invalid capability data 0x${v.toString('hex')}`;
  const state = (n: number): number => {
    const bit = 1n << BigInt(n);
    const p = (d.permitted & bit) !== 0n;
    const i = (d.inheritable & bit) !== 0n;
    // A file's single effective bit raises every permitted or inheritable capability.
    return (d.effective && (p || i) ? EFF : 0) | (i ? INH : 0) | (p ? PER : 0);
  };
  const known = NAMES.length;
  const histo = new Array<number>(8).fill(0);
  for (let n = 0; n < known; n++) histo[state(n)] = (histo[state(n)] ?? 0) + 1;
  // The most common state is the base; ties go to the lower state, as libcap's do.
  let m = 7;
  for (let t = 6; t >= 0; t--) if ((histo[t] ?? 0) >= (histo[m] ?? 0)) m = t;
  const parts: string[] = m === 0 ? [] : [`=${flagText(m)}`];
  for (let t = 7; t >= 0; t--) {
    if (t === m) continue;
    const names: string[] = [];
    for (let n = 0; n < known; n++) if (state(n) === t) names.push(NAMES[n] as string);
    // Capabilities past the ones named here (a newer kernel's) are shown by number, never dropped.
    if (t !== 0) for (let n = known; n < 64; n++) if (state(n) === t) names.push(`cap_${n}`);
    if (names.length === 0) continue;
    let s = names.join(',');
    if (m === 0) s += `=${flagText(t)}`;
    else {
      if (t & ~m) s += `+${flagText(t & ~m)}`;
      if (m & ~t) s += `-${flagText(m & ~t)}`;
    }
    parts.push(s);
  }
  const text = parts.length === 0 ? '=' : parts.join(' ');
  return d.rootid === null ? text : `${text} [rootid=${d.rootid}]`;
}
