/** Every command explains itself: `--help` exits 0 and shows an example of the command itself. */
import { describe, expect, it } from '@jest/globals';
import type { Command } from 'commander';
import { buildProgram, runCli } from '../../../cli/main.ts';
import { bufferIo } from '../../../cli/output.ts';
import { startedEventId } from '../../../functions/connectors/machinemetrics/detector.ts';

/** Every command that does something (not a group of subcommands), with its full name. */
function leaves(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) =>
    c.commands.length > 0 ? leaves(c, [...prefix, c.name()]) : [[...prefix, c.name()]],
  );
}

const program = buildProgram({
  io: bufferIo(),
  now: () => new Date(),
  openTarget: async () => {
    throw new Error('help needs no target');
  },
  result: { code: 0 },
});
const commands = leaves(program);

describe('millwright --help', () => {
  it('knows the commands the issue names', () => {
    const names = commands.map((c) => c.join(' '));
    for (const name of [
      'status',
      'runs',
      'show',
      'dlq list',
      'dlq replay',
      'backfill',
      'pause',
      'resume',
      'test-event',
      'discover',
      'webhooks urls',
      'webhooks register',
    ]) {
      expect(names).toContain(name);
    }
  });

  it.each(commands.map((c) => [c.join(' '), c]))(
    '%s --help has an example of itself',
    async (_name, path) => {
      const io = bufferIo();
      const code = await runCli([...(path as string[]), '--help'], { io });
      expect(code).toBe(0);
      expect(io.stdout.join('')).toContain(`npx millwright ${(path as string[]).join(' ')}`);
    },
  );

  it("shows an event id in show's example as the downtime poller makes them", async () => {
    const io = bufferIo();
    await runCli(['show', '--help'], { io });
    const id = startedEventId('0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c/2026-12-06T08:00:00.000Z');
    expect(io.stdout.join('')).toContain(`npx millwright show ${id}`);
  });

  it('refuses an unknown command or option with exit code 2', async () => {
    const io = bufferIo();
    expect(await runCli(['stauts'], { io })).toBe(2);
    expect(io.stderr.join('')).toMatch(/unknown command 'stauts'/);
    expect(await runCli(['runs', '--colour'], { io: bufferIo() })).toBe(2);
    expect(await runCli(['--sandbox', '--stack', 'X', 'status'], { io: bufferIo() })).toBe(2);
  });

  it('refuses --region or --config without --stack (exit code 2) instead of reading the sandbox', async () => {
    const io = bufferIo();
    expect(await runCli(['--region', 'eu-west-1', '--config', 'config/site.json', 'status'], { io })).toBe(2);
    expect(io.stderr.join('')).toContain(
      '--region and --config only apply to a deployed stack: add --stack <name>',
    );
    const config = bufferIo();
    expect(
      await runCli(['--sandbox', '/nonexistent-millwright-dir', '--config', 'x.json', 'runs'], {
        io: config,
      }),
    ).toBe(2);
    expect(config.stderr.join('')).toContain('--config only applies to a deployed stack');
  });

  it('says how to start the sandbox when it is not running (exit code 3)', async () => {
    const io = bufferIo();
    expect(await runCli(['--sandbox', '/nonexistent-millwright-dir', 'status'], { io })).toBe(3);
    expect(io.stderr.join('')).toContain(
      '/nonexistent-millwright-dir/endpoints.json not found: start the sandbox first',
    );
  });
});
