/**
 * The command line: the only importer of commander. It parses arguments, calls the library and maps
 * errors to exit codes in exactly one place (`main`). It never calls process.exit: the launcher sets
 * process.exitCode, so pending output is flushed.
 */

import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { safeMessage } from '../display.js';
import { ExitCode, FimError } from '../errors.js';
import { type CommonOptions, type Output, stdio } from './context.js';
import { rawArgs, useRawArgs } from './raw-argv.js';
import { watchHelp } from './watch-help.js';

export const EXIT_CODES_HELP = `
Exit status (check): 0 nothing found; otherwise the OR of
   1  files were added           2  files were removed
   4  files were changed         8  some files could not be checked
Exit status when a run stops (any command):
  16  usage, configuration or policy error
  17  no baseline (run "fim baseline")
  18  the baseline fails its integrity check (edited or corrupt): refused
  19  database or I/O failure
  20  key problem (missing, unreadable, too permissive, failed certificate)
  21  internal error (a bug: please report it)
verify-log: 0 all verified, 1 problems found, 16+ as above.
fleet status: 0 every host is fine, 1 some host needs attention, 16+ as above.`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

type CommonOption = 'config' | 'policy' | 'db' | 'json' | 'quiet';

/** The common options a command takes: each only where it means something for that command. */
function withCommon(cmd: Command, ...which: CommonOption[]): Command {
  cmd.option('--config <file>', 'configuration file (default /etc/fim/fim.yaml)');
  if (which.includes('policy'))
    cmd.option('--policy <file>', "policy file; repeatable; replaces the configuration's list", collect);
  if (which.includes('db'))
    cmd.option('--db <file>', 'database file (default from the configuration: /var/lib/fim/fim.db)');
  if (which.includes('json')) cmd.option('--json', 'machine-readable output');
  if (which.includes('quiet')) cmd.option('-q, --quiet', 'print nothing unless something is found');
  return cmd;
}

export function buildProgram(io: Output, setCode: (n: number) => void): Command {
  const program = new Command('fim')
    .description(
      'File-integrity monitor: BLAKE3 baselines in SQLite, signed RFC 5424 alerts, verified on the log server',
    )
    .version(version(), '-V, --version')
    .showHelpAfterError()
    .addHelpText('after', EXIT_CODES_HELP)
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  const run = (p: Promise<number>) => p.then(setCode);
  // Each command's module is loaded when it runs, not before: a check need not compile the
  // daemon, the demo or verify-log (node's start-up is part of every command's time).

  withCommon(program.command('baseline'), 'policy', 'db', 'json', 'quiet')
    .description('scan everything the policies name and store a new baseline; print its root')
    .option('--label <label>', 'a label for this baseline, e.g. deploy-1234')
    .action((o: CommonOptions & { label?: string }) =>
      run(import('./cmd-baseline.js').then((m) => m.baselineCommand(o, io))),
    );

  withCommon(program.command('check'), 'policy', 'db', 'json', 'quiet')
    .description(
      'scan (all, or the given paths), compare with the baseline, report; exit status says what was found',
    )
    .argument('[paths...]', 'restrict the check to these paths')
    .option('--rule <name>', 'report only this rule; repeatable', collect)
    .addOption(
      new Option('--min-severity <s>', 'report only findings at least this severe').choices([
        'low',
        'medium',
        'high',
        'critical',
      ]),
    )
    .addOption(
      new Option(
        '--format <format>',
        'text (default), json (--json), ndjson (one finding per line, streamed), ecs (Elastic Common Schema, one document per line)',
      ).choices(['text', 'json', 'ndjson', 'ecs']),
    )
    .option(
      '--fast',
      'skip rehashing files whose size, mtime, ctime, inode and device are unchanged (see README)',
    )
    .addHelpText('after', EXIT_CODES_HELP)
    .action((paths: string[], o) => run(import('./cmd-check.js').then((m) => m.checkCommand(paths, o, io))));

  withCommon(program.command('diff'), 'policy', 'db', 'json', 'quiet')
    .description(
      'what changed between two stored baselines (default: the one in force and the one it replaced); exit status as for check',
    )
    .argument('[A]', 'the older baseline id')
    .argument('[B]', 'the newer baseline id (default: the baseline in force)')
    .addOption(
      new Option('--format <format>', 'text (default), json (--json), ndjson, ecs').choices([
        'text',
        'json',
        'ndjson',
        'ecs',
      ]),
    )
    .addHelpText('after', EXIT_CODES_HELP)
    .action((a: string | undefined, b: string | undefined, o) =>
      run(import('./cmd-diff.js').then((m) => m.diffCommand(a, b, o, io))),
    );

  withCommon(program.command('accept'), 'db', 'json', 'quiet')
    .description('take reviewed findings of the latest check into the baseline (a new baseline id)')
    .argument('[paths...]', 'paths whose findings to accept')
    .option('--all', 'accept every finding of the latest check')
    .option('--explained', 'accept exactly the findings a manifest explains; say which it left')
    .option('--min-strength <s>', 'with --explained: pip-record (default), package-db or signed-manifest')
    .option('--label <label>', 'label of the new baseline')
    .action((paths: string[], o) =>
      run(import('./cmd-accept.js').then((m) => m.acceptCommand(paths, o, io))),
    );

  withCommon(program.command('history'), 'db', 'json')
    .description('past check runs')
    .option('--limit <n>', 'how many runs', '20')
    .action((o) => run(import('./cmd-history.js').then((m) => m.historyCommand(o, io))));

  withCommon(program.command('show'), 'db', 'json')
    .description('the findings of one run')
    .argument('<run>', 'run id from "fim history"')
    .action((r: string, o) => run(import('./cmd-history.js').then((m) => m.showCommand(r, o, io))));

  const policy = program.command('policy').description('validate and explain policies');
  withCommon(policy.command('check'), 'json', 'quiet')
    .description('validate policy files (default: the configured ones)')
    .argument('[files...]')
    .action((files: string[], o) =>
      run(import('./cmd-policy.js').then((m) => m.policyCheckCommand(files, o, io))),
    );
  withCommon(policy.command('explain'), 'policy', 'json')
    .description('which rule governs a path, with which attributes, or why it is not covered')
    .argument('<path>')
    .action((p: string, o) => run(import('./cmd-policy.js').then((m) => m.policyExplainCommand(p, o, io))));

  const manifest = program
    .command('manifest')
    .description(
      'on the build side of a deploy: a deploy key, and signed manifests that explain its changes',
    );
  manifest
    .command('keygen')
    .description('a deploy key pair: FILE (private, stays with the build) and FILE.pub (trusted on hosts)')
    .argument('<file>')
    .option('--force', 'replace an existing key')
    .action((file: string, o: { force?: boolean }) =>
      run(import('./cmd-manifest.js').then((m) => m.manifestKeygenCommand(file, o, io))),
    );
  manifest
    .command('create')
    .description('list every regular file under DIR with its BLAKE3, signed with the deploy key')
    .argument('<dir>', 'the directory as it will be on the hosts (absolute paths are what is listed)')
    .option('--key <file>', 'the deploy key (from fim manifest keygen)')
    .option('--name <name>', 'the deploy or application name')
    .option('--release <id>', 'the deploy version: a build id, a git commit')
    .option('-o, --output <file>', 'where to write the manifest')
    .option('--as <path>', 'the absolute path DIR will have on the hosts (default: DIR)')
    .action((dir: string, o) =>
      run(import('./cmd-manifest.js').then((m) => m.manifestCreateCommand(dir, o, io))),
    );

  withCommon(program.command('keygen'), 'json', 'quiet')
    .description(
      "create the host's forward-secure signing keys; print the public key to enrol on the log server",
    )
    .option('--force', 'overwrite existing keys (then re-enrol the new public key)')
    .option(
      '--rotate',
      'replace the keys with a new set and send a handover signed by the old one: the log server follows with no re-enrolment (stop fim watch first)',
    )
    .option(
      '--erase',
      'only erase the private keys of ended epochs (all once expired): for hosts without the daemon (fim-erase-keys.timer)',
    )
    .option('--epochs <n>', 'number of epochs (default: a year and a day of epochs)')
    .option('--epoch-length <duration>', 'epoch length, e.g. 1h (default: key_epoch from the configuration)')
    .action((o) => run(import('./cmd-evidence.js').then((m) => m.keygenCommand(o, io))));

  withCommon(program.command('watch'), 'policy', 'db')
    .description(
      'the daemon: verify the baseline, full check, then watch in real time and ship signed alerts',
    )
    .addHelpText('after', watchHelp)
    .action((o) => run(import('./cmd-watch.js').then((m) => m.watchCommand(o, io))));

  program
    .command('demo')
    .description('the whole loop on a generated sample worker with a local log server, in seconds')
    .option('--keep', 'keep the temp directory to look around')
    .action((o: { keep?: boolean }) => run(import('../demo/demo.js').then((m) => m.runDemo(o, io))));

  program
    .command('verify-log')
    .description(
      'on the log server: verify stored fim alerts (FILE, or - for standard input as an rsyslog omprog program)',
    )
    .argument('<file>', 'a log file in RSYSLOG_SyslogProtocol23Format or raw RFC 5424, or -')
    .option(
      '--pubkey <file>',
      "a host's enrolled public key (<keys>/<host>.pub); repeatable, several per host (before and after keygen --force)",
      collect,
    )
    .option('--keys <dir>', 'a directory of enrolled public keys: every *.pub file in it')
    .option(
      '--max-silence <duration>',
      'report a host silent for longer than this at the end (default 3m; 0 = off)',
    )
    .option(
      '--skew <duration>',
      'allowed clock skew: a message may lie this far outside its key epoch or ahead of this clock (default 5m)',
    )
    .option(
      '--state <file>',
      'keep per-host state in this SQLite file between runs: rotated logs verify as one stream, each problem is reported once',
    )
    .option('--json', 'machine-readable report')
    .option('-q, --quiet', 'print nothing when all verifies')
    .action((file: string, o) =>
      run(import('./cmd-evidence.js').then((m) => m.verifyLogCommand(file, o, io))),
    );

  const fleet = program
    .command('fleet')
    .description('on the log server: the state of every host the verifier knows');
  fleet
    .command('status')
    .description(
      "each host's daemon state, last message and heartbeat, baseline, findings and problems, and drift (same label, different roots); exit 1 when a host needs attention",
    )
    .option('--state <file>', "the verifier's --state file (default /var/lib/fim/verify/fleet.state)")
    .option(
      '--max-silence <duration>',
      'a host with no verified message for longer than this is silent (default 3m)',
    )
    .option('--json', 'machine-readable status')
    .option('--html <file>', 'also write the status as a static HTML page')
    .option('-q, --quiet', 'print nothing when no host needs attention')
    .action((o) => run(import('./cmd-fleet.js').then((m) => m.fleetStatusCommand(o, io))));
  fleet
    .command('ack')
    .description(
      "after looking into them: the hosts' problems and missing messages so far are resolved; fleet status counts only newer ones",
    )
    .argument('<hosts...>', 'host names, as fleet status shows them')
    .option('--state <file>', "the verifier's --state file (default /var/lib/fim/verify/fleet.state)")
    .option('--json', 'machine-readable: what was acknowledged per host')
    .option('-q, --quiet', 'print nothing')
    .action((hosts: string[], o) =>
      run(import('./cmd-fleet.js').then((m) => m.fleetAckCommand(hosts, o, io))),
    );

  program
    .command('help')
    .argument('[command...]')
    .description('help for a command')
    .action((words: string[]) => {
      let cmd: Command = program;
      for (const w of words) {
        const next = cmd.commands.find((c) => c.name() === w);
        if (!next) {
          io.err(`fim: unknown command "${words.join(' ')}"\n`);
          setCode(ExitCode.usage);
          return;
        }
        cmd = next;
      }
      // The same text as `fim CMD --help`, the exit codes and other after-texts included.
      cmd.outputHelp();
      setCode(ExitCode.ok);
    });
  return program;
}

/** Run the CLI; returns the exit status. The one place where errors become exit codes. */
export async function main(argv: string[], io: Output = stdio): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (n) => {
    code = n;
  });
  try {
    // Arguments that are not UTF-8 keep their bytes (src/cli/raw-argv.ts).
    const raw = argv === process.argv ? rawArgs(argv) : { argv, bytes: new Map<string, Buffer>() };
    useRawArgs(raw);
    await program.parseAsync(raw.argv);
    return code;
  } catch (err: unknown) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return ExitCode.ok;
      return ExitCode.usage;
    }
    if (err instanceof FimError) {
      // One problem a line (a policy's problems); no raw control byte within a line.
      io.err(`fim: ${err.message.split('\n').map(safeMessage).join('\n')}\n`);
      return err.exitCode;
    }
    const e = err as Error;
    io.err(`fim: internal error: ${e?.stack ?? String(err)}\n`);
    return ExitCode.internal;
  }
}
