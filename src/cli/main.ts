/**
 * The `git prolly` command line. This module stays small on purpose: it declares the commands with
 * commander and loads each command's module only when that command runs, so `--version` and `--help`
 * start fast and a `get` never loads the code of `import` or isomorphic-git.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { COMMON_OPTIONS, parseArgv } from './argv.js';
import { EXIT_ERROR, runCommand } from './run.js';
import type { Output } from './output.js';

/**
 * The package version (package.json two or three levels up from this file, src/ or dist/src/).
 * @example version() // '0.1.0'
 */
export function version(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'git-prolly' && pkg.version) return pkg.version;
    } catch {
      /* try the next */
    }
  }
  return '0.0.0';
}

/** A command module: `run(out, args, options)` → exit code (0 when undefined). */
type CommandModule = { run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<number | void> };

const loaders: Record<string, () => Promise<CommandModule>> = {
  init: () => import('./commands/init.js'),
  put: () => import('./commands/put.js'),
  get: () => import('./commands/get.js'),
  del: () => import('./commands/del.js'),
  scan: () => import('./commands/scan.js'),
  import: () => import('./commands/import.js'),
  export: () => import('./commands/export.js'),
  datasets: () => import('./commands/datasets.js'),
  status: () => import('./commands/status.js'),
  commit: () => import('./commands/commit.js'),
  log: () => import('./commands/log.js'),
  show: () => import('./commands/show.js'),
  diff: () => import('./commands/diff.js'),
  history: () => import('./commands/history.js'),
  merge: () => import('./commands/merge.js'),
  conflicts: () => import('./commands/conflicts.js'),
  resolve: () => import('./commands/resolve.js'),
  restore: () => import('./commands/restore.js'),
  stats: () => import('./commands/stats.js'),
  'merge-driver': () => import('./commands/merge-driver.js'),
  'diff-driver': () => import('./commands/diff-driver.js'),
  textconv: () => import('./commands/textconv.js'),
  demo: () => import('./commands/demo.js'),
  sql: () => import('./commands/sql.js'),
  // Storage tiers (issue 4).
  remote: () => import('./commands/remote.js'),
  push: () => import('./commands/push.js'),
  fetch: () => import('./commands/fetch.js'),
  pull: () => import('./commands/pull.js'),
  'install-hooks': () => import('./commands/install-hooks.js'),
  storage: () => import('./commands/storage.js'),
  tier: () => import('./commands/tier.js'),
  gc: () => import('./commands/gc.js'),
  // Encryption and erasure coding (issue 7).
  repair: () => import('./commands/repair.js'),
  rekey: () => import('./commands/rekey.js'),
  // Tamper evidence (issue 5).
  proof: () => import('./commands/proof.js'),
  'verify-proof': () => import('./commands/verify-proof.js'),
  verify: () => import('./commands/verify.js'),
  keygen: () => import('./commands/keygen.js'),
  audit: () => import('./commands/audit.js'),
};

/** One command of the CLI: its synopsis, help text, example and options. */
export interface Spec {
  name: string;
  args: string;
  summary: string;
  example: string;
  options?: [flags: string, description: string, defaultValue?: string][];
  hidden?: boolean;
}

const AT = ['--at <rev>', 'read the dataset as of this git revision (default: the work tree)'] as [string, string];

const SPECS: Spec[] = [
  { name: 'init', args: '', summary: 'set up git-prolly in this git repository (idempotent)', example: 'git prolly init' },
  {
    name: 'put',
    args: '<dataset> <key> [value]',
    summary: 'set a key (creates the dataset if needed); the value comes from the argument, --file or --stdin',
    example: `git prolly put users alice '{"age":31}'\n  $ git prolly put photos cat.jpg --file ./cat.jpg`,
    options: [
      ['--file <path>', 'read the value from a file (streamed; large values become blobs)'],
      ['--stdin', 'read the value from standard input'],
    ],
  },
  { name: 'get', args: '<dataset> <key>', summary: 'print the value of a key (exit 1 when absent)', example: 'git prolly get users alice --at HEAD~1', options: [AT] },
  { name: 'del', args: '<dataset> <keys...>', summary: 'delete keys', example: 'git prolly del users alice bob' },
  {
    name: 'scan',
    args: '<dataset>',
    summary: 'list entries in key order (key TAB value per line)',
    example: 'git prolly scan users --prefix a --limit 10',
    options: [
      ['--prefix <p>', 'only keys starting with p'],
      ['--from <key>', 'first key (inclusive)'],
      ['--to <key>', 'stop before this key (exclusive)'],
      ['--limit <n>', 'at most n entries'],
      ['--keys-only', 'print keys only'],
      ['--reverse', 'largest key first'],
      AT,
    ],
  },
  {
    name: 'import',
    args: '<dataset> <file>',
    summary: 'import a CSV, NDJSON or JSON-array file (streaming); each row is stored under its key as compact JSON',
    example: 'git prolly import users fixtures/sample/users.csv --key id',
    options: [
      ['--key <column>', 'key column (CSV) or field (JSON); default: first CSV column / "id"'],
      ['--format <format>', 'csv, ndjson or json (default: from the file extension; needed for "-" = stdin)'],
      ['--replace', 'replace the dataset instead of upserting into it'],
      ['--table', 'load into a SQL table: create it (types inferred) or append to it'],
      ['--pk <columns>', 'with --table: primary key column(s) of a new table, comma-separated (default: a hidden row id)'],
      ['--schema <sql>', 'with --table: the new table\'s CREATE TABLE statement (or @file.sql) instead of inferring types'],
    ],
  },
  {
    name: 'export',
    args: '<dataset>',
    summary: 'write the dataset as CSV or NDJSON to standard output',
    example: 'git prolly export users --format csv > users.csv',
    options: [['--format <format>', 'csv or ndjson', 'ndjson'], AT],
  },
  { name: 'datasets', args: '', summary: 'list datasets', example: 'git prolly datasets --at main', options: [AT] },
  { name: 'status', args: '', summary: 'datasets changed since HEAD, and unresolved conflicts', example: 'git prolly status' },
  {
    name: 'commit',
    args: '',
    summary: 'commit the datasets (.prolly/) only; other staged changes stay staged',
    example: `git prolly commit -m "import users"`,
    options: [
      ['-m, --message <message>', 'commit message'],
      ['--allow-empty', 'commit even when no dataset changed'],
      ['-S, --sign [keyfile]', 'sign the commit (SSH Ed25519, git\'s gpgsig format) with this key, or [security] signing_key'],
    ],
  },
  {
    name: 'log',
    args: '[dataset]',
    summary: 'commits that changed datasets (or one dataset)',
    example: 'git prolly log users -n 5',
    options: [['-n, --limit <n>', 'at most n commits'], ['--first-parent', 'follow only first parents'], ['--at <rev>', 'start from this revision (default HEAD)']],
  },
  {
    name: 'show',
    args: '[rev]',
    summary: 'a commit and its key-level dataset changes',
    example: 'git prolly show HEAD~1 --dataset users',
    options: [['--dataset <name>', 'only this dataset'], ['--stat', 'counts per dataset instead of keys']],
  },
  {
    name: 'diff',
    args: '[rev1] [rev2]',
    summary: 'key-level changes: HEAD → work tree, rev1 → work tree, or rev1 → rev2',
    example: 'git prolly diff main feature --dataset users --stat',
    options: [['--dataset <name>', 'only this dataset'], ['--stat', 'counts per dataset instead of keys']],
  },
  {
    name: 'history',
    args: '<dataset> <key>',
    summary: 'commits where a key changed (first-parent history; structural, no scans)',
    example: 'git prolly history users alice',
    options: [['-n, --limit <n>', 'at most n commits'], ['--at <rev>', 'start from this revision (default HEAD)']],
  },
  {
    name: 'merge',
    args: '<rev>',
    summary: 'git merge with the prolly merge driver; conflicts: see conflicts / resolve',
    example: 'git prolly merge feature --strategy theirs',
    options: [
      ['--strategy <strategy>', 'settle same-key conflicts: ours, theirs, or fail (abort the merge)'],
      ['-m, --message <message>', 'merge commit message'],
    ],
  },
  { name: 'conflicts', args: '[dataset]', summary: 'unresolved merge conflicts: key, base, ours, theirs', example: 'git prolly conflicts users' },
  {
    name: 'resolve',
    args: '<dataset> <key>',
    summary: 'settle one conflict',
    example: 'git prolly resolve users alice --theirs',
    options: [
      ['--ours', 'keep our value'],
      ['--theirs', 'take their value'],
      ['--value <value>', 'use this value'],
      ['--delete', 'delete the key'],
    ],
  },
  {
    name: 'restore',
    args: '<dataset>',
    summary: 'put a dataset back as it is at HEAD (or --source)',
    example: 'git prolly restore users',
    options: [['--source <rev>', 'restore from this revision instead of HEAD']],
  },
  {
    name: 'sql',
    args: '[query]',
    summary: 'run SQL over the tables (SQL from the argument, --file or piped stdin; a shell on a terminal)',
    example: `git prolly sql "SELECT region, COUNT(*) FROM orders GROUP BY region"\n  $ git prolly sql "SELECT * FROM orders AS OF 'HEAD~1' WHERE id = 7" --format json`,
    options: [
      ['-f, --file <path>', 'run the statements in this file'],
      ['--format <format>', 'table, json, ndjson or csv (default: table)'],
      ['-v, --verbose', 'show each statement\'s access plan, rows and nodes read, and time on stderr'],
      ['--at <rev>', 'read every table as of this git revision (read-only)'],
    ],
  },
  { name: 'stats', args: '[dataset]', summary: 'entries, depth, node sizes and bytes of datasets', example: 'git prolly stats users', options: [AT] },
  { name: 'merge-driver', args: '<base> <ours> <theirs> [path]', summary: 'git merge driver (called by git)', example: 'git-prolly merge-driver %O %A %B %P', hidden: true },
  { name: 'diff-driver', args: '[args...]', summary: 'git external diff driver (called by git diff)', example: 'git diff', hidden: true },
  { name: 'textconv', args: '<file>', summary: 'git textconv filter (called by git log -p / git show)', example: 'git log -p', hidden: true },
  {
    name: 'remote',
    args: '[action] [name] [location]',
    summary: 'storage backends: add <name> <s3://bucket/prefix | ipfs://host:port | dir>, remove <name>, list',
    example: 'git prolly remote add archive s3://my-data/team-a --region eu-west-1\n  $ git prolly remote add share /mnt/share/prolly\n  $ git prolly remote list',
    options: [
      ['--type <type>', 'local, s3 or ipfs (when the location does not say)'],
      ['--endpoint <url>', 's3: endpoint of an S3-compatible server (MinIO, …)'],
      ['--region <region>', 's3: region'],
      ['--storage-class <class>', 's3: storage class of new objects'],
      ['--max-age-days <n>', 'age-based routing: chunks older than this move to the next tier'],
    ],
  },
  {
    name: 'push',
    args: '[remote]',
    summary: 'upload the chunks of the current branch (or --all refs) that the storage backends lack',
    example: 'git prolly push archive --jobs 4',
    options: [
      ['--all', 'every branch and tag, not just the current branch'],
      ['--jobs <n>', 'uploads in flight at once per backend (default 2)'],
      ['--hook', 'run as the pre-push hook (refs on standard input)'],
    ],
  },
  {
    name: 'fetch',
    args: '[remote]',
    summary: 'download the chunks of HEAD and the work tree (or --at rev, or --all history) for offline use',
    example: 'git prolly fetch --at v1.0',
    options: [['--all', 'every dataset version in every commit of every ref'], AT],
  },
  { name: 'pull', args: '[args...]', summary: 'git pull, then fetch the chunks of the new HEAD', example: 'git prolly pull origin main' },
  {
    name: 'install-hooks',
    args: '',
    summary: 'install a pre-push hook so git push uploads dataset chunks before the commits',
    example: 'git prolly install-hooks',
    options: [['--force', 'replace an existing pre-push hook (kept as pre-push.before-prolly)']],
  },
  {
    name: 'storage',
    args: '[what]',
    summary: 'status: reachability, latency, objects and health of each backend; metrics: cache hit rate, bytes per tier, failovers',
    example: 'git prolly storage status\n  $ git prolly storage metrics --json',
    options: [['--reset', 'metrics: start counting from zero']],
  },
  {
    name: 'tier',
    args: '',
    summary: 'apply age-based routing: move chunks only old commits use to colder backends',
    example: 'git prolly tier --dry-run',
    options: [['--dry-run', 'report what would move, move nothing']],
  },
  {
    name: 'gc',
    args: '',
    summary: 'delete local chunks that no ref, reflog entry, index stage or work-tree pointer reaches (remote backends are not touched)',
    example: 'git prolly gc --dry-run\n  $ git prolly gc --keep-recent 1.day',
    options: [
      ['--dry-run', 'report what would be removed, change nothing'],
      ['--keep-recent <duration>', 'leave packs written within this long whole (e.g. 2.weeks, 3d, 12h, 0)', '2.weeks'],
    ],
  },
  {
    name: 'repair',
    args: '',
    summary: 'erasure coding: rebuild missing or corrupt shards onto healthy or replacement backends',
    example: 'git prolly repair --dry-run\n  $ git prolly repair',
    options: [['--dry-run', 'only report degraded and unreadable objects (reads every shard)']],
  },
  {
    name: 'rekey',
    args: '',
    summary: 'client encryption: re-wrap the keyring under a new master key, or re-encrypt everything under a new data key',
    example: 'git prolly rekey --new-key env:NEW_PROLLY_KEY\n  $ git prolly rekey --reencrypt',
    options: [
      ['--new-key <provider>', 're-wrap under the key this provider gives (env:NAME or file:PATH)'],
      ['--reencrypt', 'new data key: decrypt and re-encrypt every chunk, delete the old objects'],
    ],
  },
  {
    name: 'proof',
    args: '<dataset> [key]',
    summary: 'a Merkle proof that a key has its value (or is absent), or of every entry in a range, anchored to a commit',
    example: 'git prolly proof users alice -o alice.proof.json\n  $ git prolly proof users --start a --end b --at v1.0 -o range.json',
    options: [
      ['--at <rev>', 'prove the dataset as of this revision (default HEAD)'],
      ['-o, --output <file>', 'write the proof here (default: standard output)'],
      ['--start <key>', 'range proof: first key (inclusive)'],
      ['--end <key>', 'range proof: last key (inclusive)'],
      ['--all', 'range proof of every entry'],
      ['--hex', 'keys are given as hex bytes'],
      ['--no-anchor', 'leave out the commit (the proof is then checked against a root only)'],
    ],
  },
  {
    name: 'verify-proof',
    args: '<file>',
    summary: 'check a proof file (no repository needed): exit 0 valid, 1 invalid',
    example: 'git prolly verify-proof alice.proof.json --commit 3f2a…\n  $ git prolly verify-proof alice.proof.json --allowed-signers .prolly/allowed_signers',
    options: [
      ['--root <hex>', 'the trusted dataset root'],
      ['--commit <sha>', 'the trusted commit id (checked through the proof\'s anchor)'],
      ['--allowed-signers <file>', 'require the anchored commit to be signed by one of these signers'],
    ],
  },
  {
    name: 'verify',
    args: '',
    summary: 'check history for CI: signatures, commit chain, every node\'s hash (incremental); exit 0 good, 1 problem, 2 could not run',
    example: 'git prolly verify --from origin/main~50 --require-signatures --junit verify.xml\n  $ git prolly verify --deep --remote archive',
    options: [
      ['--from <rev>', 'trusted, already verified revision: check only commits after it'],
      ['--to <rev>', 'last revision to check (default HEAD)'],
      ['--require-signatures', 'every commit must be signed by an allowed signer'],
      ['--allowed-signers <file>', 'who may sign (default: [security] allowed_signers, then git config gpg.ssh.allowedSignersFile)'],
      ['--deep', 'also check every blob chunk'],
      ['--remote <name>', 'also check that this storage backend holds every chunk (without downloading where it can)'],
      ['--branch <name>', 'the branch the range stands for, to check against the audit log'],
      ['--no-audit', 'do not check the branch against the audit log'],
      ['--junit <file>', 'also write a JUnit XML report'],
    ],
  },
  {
    name: 'keygen',
    args: '',
    summary: 'make an Ed25519 signing key (OpenSSH format) and print its allowed-signers line',
    example: 'git prolly keygen --allowed-signers .prolly/allowed_signers',
    options: [
      ['--out <path>', 'private key file (public key: <path>.pub)', '~/.ssh/git-prolly_ed25519'],
      ['--principal <email>', 'who the key signs as (default: your git e-mail)'],
      ['--comment <text>', 'key comment (default: the principal)'],
      ['--allowed-signers <file>', 'append the allowed-signers line to this file'],
      ['--force', 'replace an existing key file'],
    ],
  },
  {
    name: 'audit',
    args: '',
    summary: 'the audit log (refs/prolly/audit): show it, --verify its chain and signatures, or --ack a branch tip',
    example: 'git prolly audit -n 10\n  $ git prolly audit --verify --allowed-signers .prolly/allowed_signers',
    options: [
      ['--verify', 'check the chain, signatures and recorded branches (exit 1 on a problem)'],
      ['-n, --limit <n>', 'show at most n entries'],
      ['--allowed-signers <file>', 'who may sign entries'],
      ['--require-signatures', 'with --verify: every entry must be signed by an allowed signer'],
      ['--against <id>', 'with --verify: a log head seen before, which must still be in the log'],
      ['--ack <reason>', 'record the current branch tip as acknowledged (after git pull, or a deliberate rewrite)'],
    ],
  },
  {
    name: 'demo',
    args: '[dir]',
    summary: 'run an end-to-end demo in a new repository (default: a temp directory)',
    example: 'git prolly demo',
    options: [['--keep', 'keep the demo repository afterwards (always kept when dir is given)']],
  },
];

/**
 * The command table: what the parsers accept and what help and the manual page show.
 * @example commandSpecs().map((c) => c.name) // ['init', 'put', …]
 */
export function commandSpecs(): readonly Spec[] {
  return SPECS;
}

/**
 * The commander program of every command in SPECS; `action` receives each parsed command line.
 * @example await commanderProgram((await import('commander')).Command, invoke).parseAsync(argv, { from: 'user' })
 */
export function commanderProgram(CommandClass: typeof Command, action: (name: string, args: unknown[], options: Record<string, unknown>) => Promise<void>): Command {
  const program: Command = new CommandClass('git prolly')
    .description('Version large key-value datasets with git: prolly trees in git, bytes in a chunk store.')
    .version(`git-prolly ${version()}`, '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error: ') ? `git-prolly: ${s.slice(7)}` : s) });
  for (const spec of SPECS) {
    const cmd = program.command(`${spec.name}${spec.args ? ` ${spec.args}` : ''}`, { hidden: spec.hidden }).description(spec.summary);
    for (const [flags, description, defaultValue] of spec.options ?? []) cmd.option(flags, description, defaultValue);
    for (const [flags, description] of COMMON_OPTIONS) cmd.option(flags, description);
    cmd.addHelpText('after', `\nExample:\n  $ ${spec.example}\n`);
    cmd.exitOverride();
    if (spec.name === 'diff-driver') cmd.allowUnknownOption().helpOption(false);
    if (spec.name === 'pull') cmd.allowUnknownOption();
    cmd.action(async (...params: unknown[]) => {
      const command = params[params.length - 1] as Command;
      await action(spec.name, params.slice(0, -2), command.opts());
    });
  }
  return program;
}

/**
 * Parse a command line as `git prolly` would, without running it: commander-free when plain (see
 * src/cli/argv.ts), else through commander; undefined when commander would not run a command (help,
 * version, a usage error). For tests of the two parsers.
 * @example await parseCommandLine(['get', 'users', 'alice'], 'commander')
 */
export async function parseCommandLine(argv: string[], via: 'plain' | 'commander'): Promise<{ name: string; args: unknown[]; options: Record<string, unknown> } | undefined> {
  if (via === 'plain') return parseArgv(argv, SPECS, CUSTOM_PARSING);
  const { Command } = await import('commander');
  let got: { name: string; args: unknown[]; options: Record<string, unknown> } | undefined;
  const program = commanderProgram(Command, async (name, args, options) => {
    got = { name, args, options: { ...options } };
  });
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  for (const c of program.commands) c.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch {
    return undefined;
  }
  return got;
}

/** Commands whose command lines only commander parses (unknown options pass through to git). */
const CUSTOM_PARSING = ['diff-driver', 'pull'];

/** Run a command with its parsed arguments and options. */
async function invoke(name: string, args: unknown[], options: Record<string, unknown>): Promise<void> {
  await runCommand({ json: Boolean(options.json), debug: Boolean(options.debug) }, async (out) => {
    const mod = await loaders[name]!();
    return mod.run(out, args, options);
  });
}

/**
 * Run the CLI with `argv` (without node and script). Sets process.exitCode.
 * @example await main(['get', 'users', 'alice'])
 */
export async function main(argv: string[]): Promise<void> {
  // Fast path: no commander, no command modules.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V' || argv[0] === 'version')) {
    process.stdout.write(`git-prolly ${version()}\n`);
    return;
  }
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // A closed pipe (`git prolly scan … | head`) is a normal way for output to end.
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // Plain command lines skip commander (10–15 ms of CPU); anything else is commander's (src/cli/argv.ts).
  const plain = parseArgv(argv, SPECS, CUSTOM_PARSING);
  if (plain) {
    await invoke(plain.name, plain.args, plain.options);
    return;
  }
  const commander = await import('commander');
  const program = commanderProgram(commander.Command, invoke);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof commander.CommanderError) {
      // An explicit --help / --version is success; help shown because no command was given is a usage error.
      process.exitCode = err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : EXIT_ERROR;
      return;
    }
    throw err;
  }
}
