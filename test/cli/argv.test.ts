/**
 * The commander-free command-line parser (src/cli/argv.ts) against commander itself: for every command
 * and thousands of seeded command lines — options in every form, in any order, repeated, missing values,
 * odd operands — whenever the plain parser answers, commander must produce the same command, arguments
 * and options; and the common command lines must be answered.
 */
import { Command } from 'commander';
import { describe, expect, test } from 'vitest';
import { commanderProgram, parseCommandLine } from '../../src/cli/main.js';
import { mulberry32 } from '../../src/util/prng.js';

const program = commanderProgram(Command, async () => {});
const commands = program.commands.map((c) => ({
  name: c.name(),
  args: c.registeredArguments.map((a) => ({ required: a.required, variadic: a.variadic })),
  options: c.options.map((o) => ({ long: o.long!, short: o.short, value: o.required || o.optional, negate: o.negate })),
}));

async function same(argv: string[]): Promise<boolean> {
  const plain = await parseCommandLine(argv, 'plain');
  if (!plain) return false;
  const viaCommander = await parseCommandLine(argv, 'commander');
  expect(viaCommander, `commander does not run ${JSON.stringify(argv)}`).toBeDefined();
  expect({ argv, ...plain }).toEqual({ argv, ...viaCommander });
  return true;
}

describe('plain command lines parse as commander parses them', () => {
  test('common command lines are parsed without commander, identically', async () => {
    const common = [
      ['get', 'users', 'alice'],
      ['get', 'users', 'alice', '--at', 'HEAD~1'],
      ['get', 'users', 'alice', '--json'],
      ['put', 'users', 'alice', '{"age":31}'],
      ['put', 'photos', 'cat.jpg', '--file', './cat.jpg'],
      ['put', 'users', 'bob', '--stdin'],
      ['del', 'users', 'alice', 'bob'],
      ['scan', 'users', '--prefix', 'a', '--limit', '10', '--keys-only'],
      ['scan', 'users', '--from=a', '--to=b', '--reverse'],
      ['commit', '-m', 'import users'],
      ['commit', '--message', 'x', '--allow-empty'],
      ['sql', 'SELECT * FROM orders WHERE id = 7', '--format', 'json'],
      ['sql', 'SELECT 1', '-v'],
      ['sql', '-f', 'script.sql'],
      ['sql'],
      ['import', 'users', 'users.csv', '--key', 'id'],
      ['import', 'users', '-', '--format', 'csv'],
      ['export', 'users'],
      ['export', 'users', '--format', 'csv'],
      ['diff', 'HEAD~1', 'HEAD', '--stat'],
      ['diff'],
      ['log', 'users', '-n', '5'],
      ['history', 'users', 'alice'],
      ['status'],
      ['datasets', '--json'],
      ['init'],
      ['textconv', '.prolly/datasets/users'],
      ['merge-driver', 'a', 'b', 'c', 'd'],
      ['verify', '--from', 'origin/main~50', '--require-signatures'],
      ['verify', '--no-audit'],
      ['proof', 'users', 'alice', '--no-anchor', '-o', 'p.json'],
      ['keygen'],
      ['remote', 'add', 'archive', 's3://bucket/prefix', '--region', 'eu-west-1'],
      ['push', 'archive', '--jobs', '4'],
      ['stats'],
    ];
    const missed: string[][] = [];
    for (const argv of common) if (!(await same(argv))) missed.push(argv);
    expect(missed).toEqual([]);
  });

  test('command lines left to commander', async () => {
    const left = [
      ['--help'],
      ['help'],
      ['get', '--help'],
      ['get', 'users'],
      ['get', 'users', 'a', 'b'],
      ['get', 'users', 'a', '--nope'],
      ['get', 'users', 'a', '--at'],
      ['get', 'users', 'a', '--at', '--json'],
      ['get', 'users', 'a', '--at', 'x', '--at', 'y'],
      ['get', 'users', '--', '-a'],
      ['get', 'users', '-5'],
      ['commit', '-mmsg'],
      ['commit', '-S'],
      ['commit', '-S', 'key', '-m', 'x'],
      ['sql', '-vf', 'x.sql'],
      ['stats', '--json=yes'],
      ['pull', 'origin', 'main', '--rebase'],
      ['diff-driver', 'a', 'b'],
      ['nope'],
      [],
    ];
    for (const argv of left) expect(await parseCommandLine(argv, 'plain'), JSON.stringify(argv)).toBeUndefined();
  });

  test('seeded command lines for every command', async () => {
    const rand = mulberry32(9001);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const operands = ['a', 'users', 'b c', '-', '', 'x=y', '5', 'HEAD~1', '-5', '--', '-x', 'é'];
    const values = ['v', 'json', '10', '', 'a b', '-1', '--json', 'x=y'];
    let answered = 0;
    let total = 0;
    for (const cmd of commands) {
      for (let n = 0; n < 60; n++) {
        const parts: string[][] = [];
        const nargs = Math.floor(rand() * (cmd.args.length + 2));
        for (let i = 0; i < nargs; i++) parts.push([pick(operands)]);
        const nopts = Math.floor(rand() * 4);
        for (let i = 0; i < nopts; i++) {
          const o = rand() < 0.9 ? pick(cmd.options) : { long: '--nope', short: undefined, value: false, negate: false };
          const flag = o.short && rand() < 0.4 ? o.short : o.long;
          const k = rand();
          if (o.value) {
            if (k < 0.6) parts.push([flag, pick(values)]);
            else if (k < 0.8 && flag.startsWith('--')) parts.push([`${flag}=${pick(values)}`]);
            else parts.push([flag]);
          } else if (k < 0.9) parts.push([flag]);
          else parts.push([`${flag}=x`]);
        }
        // Shuffle the pieces (options before, between and after the operands).
        for (let i = parts.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [parts[i], parts[j]] = [parts[j]!, parts[i]!];
        }
        total++;
        if (await same([cmd.name, ...parts.flat()])) answered++;
      }
    }
    // Most generated lines are plain enough; each answered one was checked against commander.
    expect(answered).toBeGreaterThan(total / 5);
  }, 60_000);
});
