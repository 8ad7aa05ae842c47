/**
 * Commands that build on the evidence chain and the daemon (keygen, verify-log, watch, demo).
 */
import type { Command } from 'commander';
import type { Output } from './context.js';

export function extraCommands(
  _program: Command,
  _io: Output,
  _run: (p: Promise<number>) => Promise<void>,
): void {}
