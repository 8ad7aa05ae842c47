/**
 * Compare (issue 2 "Compare"): a pure function from (baseline record, scan record, rule) to a
 * finding, reporting only the attributes the rule asks for, and only those present on both sides.
 * One table row per attribute: a record pair that differs in that attribute alone.
 */
import { describe, expect, it } from 'vitest';
import { PRESETS, type PresetName } from '../../../src/attributes.js';
import { compareRecords, diffAttributes } from '../../../src/compare/compare.js';
import { encodeAcl } from '../../../src/extended/acl.js';
import { encodeFlags } from '../../../src/extended/flags.js';
import { ABSENT, presentValue, UNSUPPORTED } from '../../../src/extended/value.js';
import { encodeXattrs } from '../../../src/extended/xattrs.js';
import type { Rule } from '../../../src/policy/policy.js';
import { CHECK_NAMES, resolveCheck } from '../../../src/policy/policy.js';
import type { AttributeName, FileRecord } from '../../../src/types.js';
import { UNREAD } from '../../helpers/records.js';

/** `setcap cap_setuid+ep`, as the kernel stores it (vfs_cap_data revision 2). */
const CAP_SETUID = Buffer.from('0100000280000000000000000000000000000000', 'hex');
/** `setfacl -m u:1000:r`: user::rw-, user:1000:r--, group::r--, mask::r--, other::r--. */
const ACL_U1000 = Buffer.from(
  '02000000' +
    '01000600ffffffff' +
    '0200040' +
    '0e8030000' +
    '04000400ffffffff' +
    '10000400ffffffff' +
    '20000400ffffffff',
  'hex',
);
const label = (s: string) => presentValue(Buffer.from(`${s}\0`));

function rule(check: string | string[], name = 'app'): Rule {
  const r = resolveCheck(check);
  if (!r.spec) throw new Error(`bad check ${JSON.stringify(check)}: ${r.problem}`);
  return {
    name,
    description: '',
    severity: 'high',
    paths: [Buffer.from('/srv/app')],
    exclude: [],
    check: r.spec,
    checkText: Array.isArray(check) ? `[${check.join(', ')}]` : check,
    hashes: ['blake3'],
    explain: [],
    recurse: Number.POSITIVE_INFINITY,
    source: 'test.yaml:3:5',
    override: null,
  };
}

const hash = (fill: number): Buffer => Buffer.alloc(32, fill);
const T0 = 1_700_000_000_123_456_789n;

function file(over: Partial<FileRecord> = {}): FileRecord {
  return {
    path: Buffer.from('/srv/app/tasks.py'),
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 100n,
    mtime: T0,
    ctime: T0,
    inode: 4242n,
    dev: 2049n,
    nlink: 1,
    target: null,
    content: hash(0xaa),
    ...UNREAD,
    ...over,
  };
}

function symlink(over: Partial<FileRecord> = {}): FileRecord {
  return file({
    path: Buffer.from('/srv/app/current'),
    type: 'symlink',
    mode: 0o777,
    size: 12n,
    target: Buffer.from('releases/v1'),
    content: null,
    ...over,
  });
}

interface Row {
  attribute: AttributeName;
  old: FileRecord;
  cur: FileRecord;
  shownOld: string | number;
  shownNew: string | number;
  /** A check that leaves this attribute out, or null when none can (type is always compared). */
  without: string | null;
}

const ROWS: Row[] = [
  {
    attribute: 'type',
    old: file(),
    cur: file({ type: 'fifo' }),
    shownOld: 'file',
    shownNew: 'fifo',
    without: null,
  },
  {
    attribute: 'mode',
    old: file(),
    cur: file({ mode: 0o4644 }),
    shownOld: '0644',
    shownNew: '4644',
    without: 'existence',
  },
  {
    attribute: 'uid',
    old: file(),
    cur: file({ uid: 1000 }),
    shownOld: 0,
    shownNew: 1000,
    without: 'existence',
  },
  { attribute: 'gid', old: file(), cur: file({ gid: 33 }), shownOld: 0, shownNew: 33, without: 'existence' },
  {
    attribute: 'size',
    old: file(),
    cur: file({ size: 101n }),
    shownOld: 100,
    shownNew: 101,
    without: 'dynamic',
  },
  {
    attribute: 'mtime',
    old: file(),
    cur: file({ mtime: T0 + 1n }),
    shownOld: '2023-11-14T22:13:20.123456789Z',
    shownNew: '2023-11-14T22:13:20.123456790Z',
    without: 'dynamic',
  },
  {
    attribute: 'ctime',
    old: file(),
    cur: file({ ctime: T0 + 1_000_000_000n }),
    shownOld: '2023-11-14T22:13:20.123456789Z',
    shownNew: '2023-11-14T22:13:21.123456789Z',
    without: 'dynamic',
  },
  {
    attribute: 'inode',
    old: file(),
    cur: file({ inode: 4243n }),
    shownOld: 4242,
    shownNew: 4243,
    without: 'existence',
  },
  {
    attribute: 'nlink',
    old: file(),
    cur: file({ nlink: 2 }),
    shownOld: 1,
    shownNew: 2,
    without: 'existence',
  },
  {
    attribute: 'target',
    old: symlink(),
    cur: symlink({ target: Buffer.from('/tmp/evil\n') }),
    shownOld: 'releases/v1',
    shownNew: '/tmp/evil\\n',
    without: 'existence',
  },
  {
    attribute: 'content',
    old: file(),
    cur: file({ content: hash(0xbb) }),
    shownOld: 'aa'.repeat(32),
    shownNew: 'bb'.repeat(32),
    without: 'dynamic',
  },
  {
    attribute: 'caps',
    old: file({ caps: ABSENT }),
    cur: file({ caps: presentValue(CAP_SETUID) }),
    shownOld: '(none)',
    shownNew: 'cap_setuid=ep',
    without: 'existence',
  },
  {
    attribute: 'acl',
    old: file({ acl: ABSENT }),
    cur: file({ acl: presentValue(encodeAcl(ACL_U1000, null)) }),
    shownOld: '(none)',
    shownNew: 'u::rw-,u:1000:r--,g::r--,m::r--,o::r--',
    without: 'existence',
  },
  {
    attribute: 'selinux',
    old: file({ selinux: label('system_u:object_r:bin_t:s0') }),
    cur: file({ selinux: label('unconfined_u:object_r:user_tmp_t:s0') }),
    shownOld: 'system_u:object_r:bin_t:s0',
    shownNew: 'unconfined_u:object_r:user_tmp_t:s0',
    without: 'existence',
  },
  {
    attribute: 'xattrs',
    old: file({ xattrs: ABSENT }),
    cur: file({
      xattrs: presentValue(encodeXattrs([{ name: Buffer.from('user.evil'), digest: hash(0xee) }])),
    }),
    shownOld: '(none)',
    shownNew: `user.evil#${'ee'.repeat(8)}`,
    without: 'existence',
  },
  {
    attribute: 'flags',
    old: file({ flags: presentValue(encodeFlags(0x80000)) }),
    cur: file({ flags: presentValue(encodeFlags(0x80010)) }),
    shownOld: 'e',
    shownNew: 'ie',
    without: 'existence',
  },
];

describe('one attribute differs', () => {
  it('the table covers every attribute', () => {
    // sha256 is kept with `hashes` and compared with content: its own tests are below.
    expect(ROWS.map((r) => r.attribute).sort()).toEqual([...CHECK_NAMES].sort());
  });

  it.each(ROWS)(
    '$attribute: reported alone under readonly, old → new',
    ({ attribute, old, cur, shownOld, shownNew }) => {
      const f = compareRecords(old, cur, rule('readonly'));
      expect(f).not.toBeNull();
      expect(f!.kind).toBe('changed');
      expect(f!.changes).toEqual([{ attribute, old: shownOld, new: shownNew }]);
      expect(f!.rule).toBe('app');
      expect(f!.severity).toBe('high');
      expect(f!.path.equals(cur.path)).toBe(true);
      expect(f!.record).toBe(cur);
    },
  );

  it.each(ROWS)('$attribute: reported by a list naming it', ({ attribute, old, cur }) => {
    expect(diffAttributes(old, cur, rule([attribute])).map((c) => c.attribute)).toEqual([attribute]);
  });

  it.each(ROWS.filter((r) => r.without !== null))(
    '$attribute: not reported under $without, which leaves it out',
    ({ attribute, old, cur, without }) => {
      expect(PRESETS[without as PresetName]).not.toContain(attribute);
      expect(compareRecords(old, cur, rule(without!))).toBeNull();
    },
  );

  it.each(ROWS.filter((r) => r.attribute !== 'type'))(
    '$attribute: not reported under "readonly -$attribute"',
    ({ attribute, old, cur }) => {
      expect(compareRecords(old, cur, rule(`readonly -${attribute}`))).toBeNull();
    },
  );

  it.each(ROWS.filter((r) => r.attribute !== 'type'))(
    '$attribute: not reported by a list that does not name it',
    ({ attribute, old, cur }) => {
      const others = CHECK_NAMES.filter((a) => a !== attribute);
      expect(diffAttributes(old, cur, rule(others))).toEqual([]);
    },
  );

  it.each(ROWS.filter((r) => r.without === 'existence'))(
    '$attribute: reported by "existence +$attribute"',
    ({ attribute, old, cur }) => {
      expect(diffAttributes(old, cur, rule(`existence +${attribute}`)).map((c) => c.attribute)).toEqual([
        attribute,
      ]);
    },
  );

  it('type is compared under every preset, existence included', () => {
    for (const preset of ['readonly', 'dynamic', 'growing', 'existence']) {
      const changes = diffAttributes(file(), file({ type: 'dir', content: null }), rule(preset));
      expect(
        changes.map((c) => c.attribute),
        preset,
      ).toContain('type');
    }
  });

  it('a file replaced by a symlink is a type change', () => {
    const changes = diffAttributes(file(), symlink({ path: file().path }), rule('readonly'));
    expect(changes.map((c) => c.attribute)).toContain('type');
    expect(changes.find((c) => c.attribute === 'type')).toEqual({
      attribute: 'type',
      old: 'file',
      new: 'symlink',
    });
  });
});

describe('sha256 and the attributes read beyond lstat', () => {
  const sha = (fill: number) => Buffer.alloc(32, fill);

  it('sha256 is compared wherever content is, and named beside it', () => {
    const old = file({ sha256: sha(1) });
    const cur = file({ content: hash(0xbb), sha256: sha(2) });
    expect(diffAttributes(old, cur, rule('readonly')).map((c) => c.attribute)).toEqual(['content', 'sha256']);
    expect(diffAttributes(old, cur, rule(['content'])).map((c) => c.attribute)).toEqual([
      'content',
      'sha256',
    ]);
    expect(diffAttributes(old, cur, rule('readonly -content'))).toEqual([]);
    expect(diffAttributes(old, cur, rule('dynamic'))).toEqual([]);
  });

  it('sha256 kept on one side only (hashes changed) is not a change', () => {
    expect(diffAttributes(file({ sha256: sha(1) }), file(), rule('readonly'))).toEqual([]);
  });

  it('"sha256" cannot be chosen in check: it is asked with hashes', () => {
    expect(resolveCheck(['sha256']).problem).toMatch(/hashes: \[blake3, sha256\]/);
    expect(resolveCheck('readonly -sha256').problem).toMatch(/hashes/);
  });

  it.each(['caps', 'acl', 'selinux', 'xattrs', 'flags'] as const)(
    '%s: "unsupported" on either side is not a change; absent to present is',
    (a) => {
      const present = presentValue(Buffer.from('00000010', 'hex'));
      expect(diffAttributes(file({ [a]: UNSUPPORTED }), file({ [a]: present }), rule('readonly'))).toEqual(
        [],
      );
      expect(diffAttributes(file({ [a]: present }), file({ [a]: UNSUPPORTED }), rule('readonly'))).toEqual(
        [],
      );
      expect(
        diffAttributes(file({ [a]: ABSENT }), file({ [a]: present }), rule('dynamic')).map(
          (c) => c.attribute,
        ),
      ).toEqual([a]);
      expect(
        diffAttributes(file({ [a]: present }), file({ [a]: ABSENT }), rule('dynamic')).map(
          (c) => c.attribute,
        ),
      ).toEqual([a]);
      // Not read on one side (a baseline older than the attribute): not compared.
      expect(diffAttributes(file({ [a]: null }), file({ [a]: present }), rule('readonly'))).toEqual([]);
    },
  );

  it('flags the file system sets itself (I: hashed directory, N: inline data) are not a change', () => {
    const e = presentValue(encodeFlags(0x80000));
    expect(
      diffAttributes(
        file({ flags: e }),
        file({ flags: presentValue(encodeFlags(0x81000)) }),
        rule('readonly'),
      ),
    ).toEqual([]);
    expect(
      diffAttributes(
        file({ flags: e }),
        file({ flags: presentValue(encodeFlags(0x10080000)) }),
        rule('readonly'),
      ),
    ).toEqual([]);
    const changed = diffAttributes(
      file({ flags: e }),
      file({ flags: presentValue(encodeFlags(0x80020)) }),
      rule('readonly'),
    );
    expect(changed).toEqual([{ attribute: 'flags', old: 'e', new: 'ae' }]);
  });
});

describe('compareRecords: kinds', () => {
  it('identical records give no finding under any check', () => {
    for (const check of ['readonly', 'dynamic', 'growing', 'existence']) {
      expect(compareRecords(file(), file(), rule(check))).toBeNull();
      expect(compareRecords(symlink(), symlink(), rule(check))).toBeNull();
    }
  });

  it('a record only in the scan is added, carrying the new record', () => {
    const cur = file({ path: Buffer.from([0x2f, 0xff, 0x2e, 0x70, 0x79]) });
    const f = compareRecords(undefined, cur, rule('existence', 'code'));
    expect(f).toEqual({
      kind: 'added',
      path: cur.path,
      rule: 'code',
      severity: 'high',
      changes: [],
      record: cur,
    });
  });

  it('a record only in the baseline is removed, carrying the old record', () => {
    const old = file();
    const f = compareRecords(old, undefined, rule('readonly'));
    expect(f).toEqual({
      kind: 'removed',
      path: old.path,
      rule: 'app',
      severity: 'high',
      changes: [],
      record: old,
    });
  });

  it('nothing on either side is no finding', () => {
    expect(compareRecords(undefined, undefined, rule('readonly'))).toBeNull();
  });

  it('several changes are all reported, in the order of the attribute table', () => {
    const cur = file({ content: hash(1), uid: 7, mode: 0o6755, mtime: T0 - 5n });
    expect(diffAttributes(file(), cur, rule('readonly')).map((c) => c.attribute)).toEqual([
      'mode',
      'uid',
      'mtime',
      'content',
    ]);
    expect(diffAttributes(file(), cur, rule('dynamic')).map((c) => c.attribute)).toEqual(['mode', 'uid']);
  });

  it('compares the 12 mode bits: setgid and sticky too', () => {
    expect(diffAttributes(file(), file({ mode: 0o2644 }), rule('dynamic'))).toEqual([
      { attribute: 'mode', old: '0644', new: '2644' },
    ]);
    expect(diffAttributes(file(), file({ mode: 0o1644 }), rule('dynamic'))).toEqual([
      { attribute: 'mode', old: '0644', new: '1644' },
    ]);
  });

  it('compares nanosecond times exactly, beyond 2^53', () => {
    expect(diffAttributes(file(), file({ mtime: T0 + 1n }), rule(['mtime']))).toHaveLength(1);
    expect(Number(T0) === Number(T0 + 1n)).toBe(true); // why they must stay BigInt
  });

  it('shows a huge size exactly, as a decimal string when it is not a safe number', () => {
    const big = 2n ** 60n + 1n;
    expect(diffAttributes(file({ size: big }), file({ size: big + 1n }), rule(['size']))).toEqual([
      { attribute: 'size', old: big.toString(), new: (big + 1n).toString() },
    ]);
  });
});

describe('attributes present on one side only are not compared', () => {
  it('content hashed at baseline but not now (unreadable) is no content change', () => {
    expect(compareRecords(file(), file({ content: null }), rule('readonly'))).toBeNull();
  });

  it('content appearing (not hashed at baseline) is no content change', () => {
    expect(compareRecords(file({ content: null }), file(), rule('readonly'))).toBeNull();
  });

  it('a link target on one side only is no target change (type reports the real change)', () => {
    const changes = diffAttributes(symlink(), file({ path: symlink().path, size: 12n }), rule('readonly'));
    expect(changes.map((c) => c.attribute)).not.toContain('target');
    expect(changes.map((c) => c.attribute)).toContain('type');
  });

  it('targets differing in one non-UTF-8 byte are a change, shown distinctly', () => {
    const a = symlink({ target: Buffer.from([0x2f, 0x78, 0xff]) });
    const b = symlink({ target: Buffer.from([0x2f, 0x78, 0xfe]) });
    expect(diffAttributes(a, b, rule('dynamic'))).toEqual([
      { attribute: 'target', old: '/x\\xff', new: '/x\\xfe' },
    ]);
  });
});

describe('inode is compared together with the device', () => {
  it('same inode number on another device is a change', () => {
    const changes = diffAttributes(file(), file({ dev: 2050n }), rule('readonly'));
    expect(changes.map((c) => c.attribute)).toEqual(['inode']);
  });

  it('the device alone is not compared when inode is not asked for', () => {
    expect(diffAttributes(file(), file({ dev: 2050n }), rule('readonly -inode'))).toEqual([]);
  });

  it('same device and inode is no change', () => {
    expect(diffAttributes(file(), file(), rule(['inode']))).toEqual([]);
  });
});

describe('growing', () => {
  const OLD = file({ path: Buffer.from('/var/log/app.log'), size: 100n, content: hash(0x10) });

  /** The scan of a growing file: its size, and the hash of its first `OLD.size` bytes. */
  function grown(size: bigint, prefixHash: Buffer, over: Partial<FileRecord> = {}): FileRecord {
    return file({
      path: OLD.path,
      size,
      content: hash(0x99),
      mtime: T0 + 60_000_000_000n,
      ctime: T0 + 60_000_000_000n,
      prefix: { length: OLD.size, hash: prefixHash },
      ...over,
    });
  }

  it('an append (size grows, the old bytes unchanged) is no finding', () => {
    expect(compareRecords(OLD, grown(150n, hash(0x10)), rule('growing'))).toBeNull();
  });

  it('no growth and no change is no finding', () => {
    expect(compareRecords(OLD, grown(100n, hash(0x10), { content: hash(0x10) }), rule('growing'))).toBeNull();
  });

  it('a shrink is a size finding', () => {
    const f = compareRecords(OLD, grown(40n, hash(0x20), { prefix: null }), rule('growing'));
    expect(f?.kind).toBe('changed');
    expect(f!.changes).toEqual([{ attribute: 'size', old: 100, new: 40 }]);
  });

  it('truncation to zero is a size finding', () => {
    const f = compareRecords(OLD, grown(0n, hash(0x20), { prefix: null, content: hash(0) }), rule('growing'));
    expect(f!.changes.map((c) => c.attribute)).toEqual(['size']);
  });

  it('an edit inside the old part, with growth, is a content finding', () => {
    const f = compareRecords(OLD, grown(150n, hash(0x11)), rule('growing'));
    expect(f?.kind).toBe('changed');
    expect(f!.changes).toEqual([{ attribute: 'content', old: '10'.repeat(32), new: '11'.repeat(32) }]);
  });

  it('an edit inside the old part, same size, is a content finding', () => {
    const f = compareRecords(OLD, grown(100n, hash(0x11), { content: hash(0x11) }), rule('growing'));
    expect(f!.changes.map((c) => c.attribute)).toEqual(['content']);
  });

  it('the dynamic part still applies: an owner change on an appended log is reported', () => {
    const f = compareRecords(OLD, grown(150n, hash(0x10), { uid: 1000 }), rule('growing'));
    expect(f!.changes).toEqual([{ attribute: 'uid', old: 0, new: 1000 }]);
  });

  it('readonly, unlike growing, reports an append', () => {
    const changes = diffAttributes(OLD, grown(150n, hash(0x10)), rule('readonly'));
    expect(changes.map((c) => c.attribute)).toEqual(['size', 'mtime', 'ctime', 'content']);
  });

  it('dynamic, unlike growing, allows a shrink and an edit', () => {
    expect(compareRecords(OLD, grown(40n, hash(0x20), { prefix: null }), rule('dynamic'))).toBeNull();
    expect(compareRecords(OLD, grown(150n, hash(0x11)), rule('dynamic'))).toBeNull();
  });

  it('"growing -nlink" keeps the growing rule', () => {
    expect(diffAttributes(OLD, grown(40n, hash(0x20), { prefix: null }), rule('growing -nlink'))).toEqual([
      { attribute: 'size', old: 100, new: 40 },
    ]);
  });
});
