/**
 * Compare: pure functions from (baseline record, current record, rule) to a finding. No I/O, no
 * clock. The contract, after AIDE's: an attribute is compared only when the rule asks for it and it
 * exists in both records (a file hashed at baseline but unreadable now yields a scan error, not a
 * fake content change).
 */
import { ATTRIBUTE_BY_NAME, ATTRIBUTES, type AttributeSpec } from '../attributes.js';
import type { Rule } from '../policy/policy.js';
import type { AttributeChange, FileRecord, Finding } from '../types.js';

export function compareRecords(
  old: FileRecord | undefined,
  cur: FileRecord | undefined,
  rule: Rule,
): Finding | null {
  if (!old && !cur) return null;
  if (!old)
    return {
      kind: 'added',
      path: cur!.path,
      rule: rule.name,
      severity: rule.severity,
      changes: [],
      record: cur!,
    };
  if (!cur)
    return {
      kind: 'removed',
      path: old.path,
      rule: rule.name,
      severity: rule.severity,
      changes: [],
      record: old,
    };
  const changes = diffAttributes(old, cur, rule);
  if (changes.length === 0) return null;
  return { kind: 'changed', path: cur.path, rule: rule.name, severity: rule.severity, changes, record: cur };
}

/**
 * The attributes a rule checks, in ATTRIBUTES order, worked out once per rule's attribute set:
 * asking the set of every attribute for every entry compared was a lookup each.
 */
const checkedSpecs = new WeakMap<ReadonlySet<string>, readonly AttributeSpec[]>();
function specsOf(attributes: ReadonlySet<string>): readonly AttributeSpec[] {
  let specs = checkedSpecs.get(attributes);
  if (!specs) {
    specs = ATTRIBUTES.filter((a) => attributes.has(a.name));
    checkedSpecs.set(attributes, specs);
  }
  return specs;
}

export function diffAttributes(old: FileRecord, cur: FileRecord, rule: Rule): AttributeChange[] {
  const changes: AttributeChange[] = [];
  const { attributes, growing } = rule.check;
  for (const spec of specsOf(attributes)) {
    if (!spec.present(old) || !spec.present(cur)) {
      // A link target appearing or vanishing is a change only together with a type change,
      // which `type` reports; content appearing is not comparable.
      continue;
    }
    if (!spec.equal(old, cur))
      changes.push({ attribute: spec.name, old: spec.display(old), new: spec.display(cur) });
  }
  if (growing && old.type === 'file' && cur.type === 'file') {
    const size = ATTRIBUTE_BY_NAME.get('size')!;
    if (cur.size < old.size) {
      changes.push({ attribute: 'size', old: size.display(old), new: size.display(cur) });
    } else if (
      old.content &&
      cur.prefix &&
      cur.prefix.length === old.size &&
      !cur.prefix.hash.equals(old.content)
    ) {
      // The bytes that were there at baseline changed: an edit, not an append.
      changes.push({
        attribute: 'content',
        old: old.content.toString('hex'),
        new: cur.prefix.hash.toString('hex'),
      });
    }
  }
  return changes;
}
