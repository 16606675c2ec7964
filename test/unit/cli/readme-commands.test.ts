/**
 * Every `npx millwright ...` the README shows (in its shell examples, sample output and prose) is
 * accepted by the CLI as written: its subcommands exist, its flags are the command's own (or the
 * global ones), and parsing reaches the point where the target is opened. And every row of the
 * README's command table names a real command with options that command has.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { Command } from 'commander';
import { buildProgram, runCli } from '../../../cli/main.ts';
import { bufferIo } from '../../../cli/output.ts';
import { PROJECT_ROOT } from '../../../lib/entries.ts';

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

/** README placeholders, filled with values of their kind. */
const PLACEHOLDERS: Record<string, string> = {
  '<name>': 'Millwright',
  '<event id>': 'mm:downtime:0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c/2026-11-02T09:55:00.000Z:started',
  '<vendor>': 'upkeep',
  '<flow>': 'machinemetrics-downtime-to-upkeep-work-order',
};

/** The README's complete command lines: `npx millwright ...` up to a comment, backtick or `(`. */
function readmeCommandLines(): string[] {
  const lines = new Set<string>();
  for (const match of readme.matchAll(/npx millwright((?: [^\s`#(|]+)+)/g)) {
    // Optional parts (`[--region eu-west-1]`) are given, so their flags are checked too.
    const line = (match[1] ?? '').replace(/\[([^\]]*)\]/g, '$1').trim();
    // `<command>` and `..` stand for any command or value: those lines are prose, not examples.
    if (/<command>|\.\./.test(line)) continue;
    lines.add(line);
  }
  return [...lines];
}

const toArgs = (line: string): string[] => {
  let filled = line;
  for (const [placeholder, value] of Object.entries(PLACEHOLDERS))
    filled = filled.replaceAll(placeholder, value);
  return filled.split(/\s+/).filter(Boolean);
};

const program = buildProgram({
  io: bufferIo(),
  now: () => new Date(),
  openTarget: async () => {
    throw new Error('not opened');
  },
  result: { code: 0 },
});

function findCommand(path: readonly string[]): Command | undefined {
  let command: Command | undefined = program;
  for (const name of path) command = command?.commands.find((c) => c.name() === name);
  return command;
}

/** The command table of "Operating Millwright": each cell's forms (split on ` / `). */
function tableForms(): string[] {
  const start = readme.indexOf('| command | what |');
  const table = readme.slice(start, readme.indexOf('\n\n', start)).split('\n').slice(2);
  const forms: string[] = [];
  for (const row of table) {
    const cell = row.split(/(?<!\\)\|/)[1]?.trim() ?? '';
    for (const form of cell.split(' / ')) forms.push(form.replaceAll('`', '').replaceAll('\\|', '|'));
  }
  return forms;
}

describe('README millwright commands', () => {
  const lines = readmeCommandLines();

  it('finds the examples', () => {
    expect(lines.length).toBeGreaterThanOrEqual(15);
  });

  it('npx millwright --help prints the usage', async () => {
    const io = bufferIo();
    expect(await runCli(['--help'], { io })).toBe(0);
    expect(io.stdout.join('')).toContain('Usage: millwright');
  });

  it.each(lines.filter((l) => l !== '--help').map((l) => [l]))(
    'npx millwright %s parses and opens its target',
    async (line) => {
      const io = bufferIo();
      let opened = false;
      const code = await runCli(toArgs(line), {
        io,
        confirm: async () => true,
        openTarget: async () => {
          opened = true;
          throw new Error('target opened');
        },
      });
      expect({ line, stderr: io.stderr.join(''), opened }).toEqual({
        line,
        stderr: expect.any(String),
        opened: true,
      });
      expect(code).not.toBe(2);
    },
  );

  it.each(tableForms().map((f) => [f]))('command table: %s names a command and its own options', (form) => {
    const path = (form.match(/^[a-z][a-z-]*(?: [a-z][a-z-]*)*/)?.[0] ?? '').split(' ');
    const command = findCommand(path);
    expect({ form, found: command !== undefined && command !== program }).toEqual({ form, found: true });
    const known = new Set([...(command?.options ?? []), ...program.options].map((o) => o.long));
    const flags = [...form.matchAll(/--[a-z-]+/g)].map((m) => m[0]);
    expect({ form, unknown: flags.filter((f) => !known.has(f)) }).toEqual({ form, unknown: [] });
  });
});
