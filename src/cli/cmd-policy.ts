import { checkPolicies, explainPath } from '../api/policy.js';
import { displayBytes } from '../display.js';
import { ExitCode } from '../errors.js';
import { type CommonOptions, type Output, sessionOf } from './context.js';
import { pathArg } from './raw-argv.js';

export async function policyCheckCommand(files: string[], o: CommonOptions, io: Output): Promise<number> {
  const p = checkPolicies(files, sessionOf(o));
  if (o.json)
    io.out(
      `${JSON.stringify({ ok: true, files: p.files, rules: p.rules.map((r) => r.name), hash: p.hash.toString('hex') })}\n`,
    );
  else if (!o.quiet)
    io.out(
      `ok: ${p.rules.length} rules in ${p.files.length} file(s), policy hash ${p.hash.toString('hex').slice(0, 16)}\n`,
    );
  return ExitCode.ok;
}

export async function policyExplainCommand(path: string, o: CommonOptions, io: Output): Promise<number> {
  const { path: abs, classification: c, attributes: attrs } = explainPath(pathArg(path), sessionOf(o));
  const result: Record<string, unknown> = { path: abs, status: c.status };
  let text: string;
  if (c.status === 'uncovered') {
    text = `${abs}: not covered by any rule`;
  } else {
    const rule = c.rule;
    Object.assign(result, {
      rule: rule.name,
      severity: rule.severity,
      anchor: displayBytes(c.anchor),
      source: rule.source,
    });
    let head = `${abs}: rule "${rule.name}" (${rule.severity}, ${rule.source}) via ${displayBytes(c.anchor)}`;
    const won = rule.overrides?.paths.some((p) => p.equals(c.anchor)) ? rule.overrides : undefined;
    if (won) {
      Object.assign(result, { overrides: won.rule, overrides_source: won.source });
      head += `\n  overrides: rule "${won.rule}" (${won.source}) for ${displayBytes(c.anchor)}`;
    }
    if (c.status === 'excluded') {
      Object.assign(result, { pattern: c.pattern, excluded_at: displayBytes(c.at) });
      text = `${head}\n  excluded: ${displayBytes(c.at)} matches "${c.pattern}"`;
    } else if (c.status === 'too-deep') {
      Object.assign(result, { depth: c.depth, recurse: rule.recurse });
      text = `${head}\n  not recorded: depth ${c.depth} is beyond recurse ${rule.recurse}`;
    } else {
      Object.assign(result, {
        check: rule.checkText,
        attributes: attrs,
        hashes: rule.hashes,
        growing: rule.check.growing,
      });
      text = `${head}\n  check: ${rule.checkText}\n  attributes: ${attrs.join(', ')}\n  hashes: ${rule.hashes.join(', ')}${rule.check.growing ? '\n  growing: may only grow; the bytes present at baseline must not change' : ''}`;
    }
  }
  io.out(o.json ? `${JSON.stringify(result)}\n` : `${text}\n`);
  return ExitCode.ok;
}
