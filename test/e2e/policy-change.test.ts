/**
 * `fim check` under another policy than the baseline's names the coverage change, from the policy
 * texts kept with the baseline: a policy narrowed to hide a critical rule's files does not pass
 * as a clean check (exit 0 with nothing to read).
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Sandbox } from '../helpers/fim.js';

describe('check with a changed policy', () => {
  it('names the narrowing, critical for a critical rule; a widening is named plainly', async () => {
    await using sb = new Sandbox('fim-polchange-');
    sb.write('keys/k.pem', 'k');
    sb.write('app/a.py', 'a');
    const base = `version: 1\nrules:\n  - name: keys\n    severity: critical\n    paths: ["${sb.tree}/keys"]\n    check: readonly\n  - name: app\n    paths: ["${sb.tree}/app"]\n    check: readonly\n`;
    writeFileSync(sb.policyFile, base);
    expect(sb.fim(['baseline']).code).toBe(0);
    writeFileSync(
      sb.policyFile,
      base.replace(
        '    check: readonly\n  - name: app',
        `    exclude: ["${sb.tree}/keys/**"]\n    check: readonly\n  - name: app`,
      ),
    );
    const narrowed = sb.check();
    const note = narrowed.report.notes.find((n) => n.startsWith('the policy changed'));
    expect(note).toContain('CRITICAL: coverage narrowed');
    expect(note).toContain(`rule "keys" excludes "${sb.tree}/keys/**" now`);
    writeFileSync(
      sb.policyFile,
      `${base}  - name: more\n    paths: ["${sb.tree}/more"]\n    check: readonly\n`,
    );
    const wider = sb.check().report.notes.find((n) => n.startsWith('the policy changed'));
    expect(wider).toContain('rules added: more');
    expect(wider).not.toContain('CRITICAL');
    // After an accept, the baseline keeps its policy texts: the same note.
    sb.write('app/b.py', 'b');
    expect(sb.check().code).toBe(1 | 4); // the file, and its directory's times
    expect(sb.fim(['accept', '--all']).code).toBe(0);
    expect(sb.check().report.notes.find((n) => n.startsWith('the policy changed'))).toContain(
      'rules added: more',
    );
  });
});
