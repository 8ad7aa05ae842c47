/**
 * Commands of the evidence chain and the daemon: keygen, verify-log, watch, demo.
 */
import type { Command } from 'commander';
import { runDemo } from '../demo/demo.js';
import { keygenCommand, verifyLogCommand } from './cmd-evidence.js';
import { watchCommand } from './cmd-watch.js';
import { collect, type Output, withCommon } from './context.js';

export function extraCommands(
  program: Command,
  io: Output,
  run: (p: Promise<number>) => Promise<void>,
): void {
  withCommon(program.command('keygen'))
    .description(
      "create the host's forward-secure signing keys; print the public key to enrol on the log server",
    )
    .option('--force', 'overwrite existing keys (then re-enrol the new public key)')
    .option('--epochs <n>', 'number of epochs (default: a year and a day of epochs)')
    .option('--epoch-length <duration>', 'epoch length, e.g. 1h (default: key_epoch from the configuration)')
    .action((o) => run(keygenCommand(o, io)));

  withCommon(program.command('watch'))
    .description(
      'the daemon: verify the baseline, full check, then watch in real time and ship signed alerts',
    )
    .action((o) => run(watchCommand(o, io)));

  program
    .command('demo')
    .description('the whole loop on a generated sample worker with a local log server, in seconds')
    .option('--keep', 'keep the temp directory to look around')
    .action((o: { keep?: boolean }) => run(runDemo(o, io)));

  program
    .command('verify-log')
    .description(
      'on the log server: verify stored fim alerts (FILE, or - for standard input as an rsyslog omprog program)',
    )
    .argument('<file>', 'a log file in RSYSLOG_SyslogProtocol23Format or raw RFC 5424, or -')
    .option('--pubkey <file>', "a host's enrolled public key (<keys>/<host>.pub); repeatable", collect)
    .option(
      '--max-silence <duration>',
      'report a host silent for longer than this at the end (default 3m; 0 = off)',
    )
    .option('--skew <duration>', 'allowed clock skew between message time and its key epoch (default 120s)')
    .option('--json', 'machine-readable report')
    .option('-q, --quiet', 'print nothing when all verifies')
    .action((file: string, o) => run(verifyLogCommand(file, o, io)));
}
