/**
 * The git-prolly(1) manual page, rendered from the same command table the CLI parses with, so the page
 * cannot drift from the commands. `git prolly --help` is answered by git itself, which runs
 * `man git-prolly`; npm installs man/git-prolly.1 (package.json "man") where man finds it.
 * `npm run man` regenerates the file; a test fails when the checked-in page is stale.
 */

/** One command as the manual shows it (the CLI's command table entries have this shape). */
export interface ManCommand {
  name: string;
  /** Argument synopsis, e.g. `<dataset> <key> [value]`. */
  args: string;
  summary: string;
  /** One or more example command lines, separated by "\n  $ ". */
  example: string;
  options?: readonly (readonly [flags: string, description: string, defaultValue?: string])[];
  hidden?: boolean;
}

/** What the page is built from. */
export interface ManPageOptions {
  commands: readonly ManCommand[];
  version: string;
  /** Options every command takes (flags, description). */
  commonOptions: readonly (readonly [string, string])[];
}

/**
 * Escape text for roff: backslashes, hyphens (so options copy-paste as ASCII), non-ASCII characters,
 * and a leading `.` or `'` that roff would read as a request.
 * @example roffText('--at <rev>') // '\\-\\-at <rev>'
 */
export function roffText(text: string): string {
  const escaped = text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    // Non-ASCII as named code points: troff without preconv reads input as Latin-1.
    .replace(/[^\x00-\x7f]/gu, (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`);
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

/**
 * The whole page as roff (man macros).
 * @example renderManPage({ commands, version: '0.1.0', commonOptions: [['--json', 'machine-readable output']] })
 */
export function renderManPage(opts: ManPageOptions): string {
  const out: string[] = [];
  const para = (text: string) => out.push('.PP', roffText(text));
  out.push(
    `.TH GIT\\-PROLLY 1 "" "git-prolly ${roffText(opts.version)}" "git-prolly manual"`,
    '.SH NAME',
    'git\\-prolly \\- version large key\\-value and SQL datasets with git',
    '.SH SYNOPSIS',
    '.B git prolly',
    '.I command',
    '[\\fIoptions\\fR] [\\fIarguments\\fR]',
    '.SH DESCRIPTION',
  );
  para(
    'Each dataset is a prolly tree: a content-defined, history-independent, Merkle-hashed search tree. ' +
      'Git commits hold only a small pointer file per dataset (its root hash) under .prolly/datasets/; ' +
      'node and value bytes live in a chunk store under .git/prolly/ and, when configured, on S3 and IPFS tiers. ' +
      'Branches, merges, diffs, checkouts and stashes of datasets are plain git operations.',
  );
  para('Exit status: 0 on success, 1 when the answer is negative or a check failed (a missing key, an invalid proof, a failed verification), 2 on an error (bad input, a missing repository, an unreachable backend).');
  out.push('.SH COMMANDS');
  for (const c of opts.commands) {
    if (c.hidden) continue;
    out.push('.SS', `.B git prolly ${roffText(c.name)}${c.args ? ` ${roffText(c.args)}` : ''}`, roffText(c.summary));
    for (const [flags, description, defaultValue] of c.options ?? []) {
      out.push('.TP', `.B ${roffText(flags)}`, roffText(defaultValue === undefined ? description : `${description} (default: ${defaultValue})`));
    }
    out.push('.PP', 'Example:', '.RS', '.nf');
    for (const line of c.example.split('\n')) out.push(roffText(line.replace(/^\s*\$\s*/, '').replace(/^/, '$ ')));
    out.push('.fi', '.RE');
  }
  out.push('.SH COMMON OPTIONS');
  for (const [flags, description] of opts.commonOptions) out.push('.TP', `.B ${roffText(flags)}`, roffText(description));
  out.push('.SH FILES');
  out.push('.TP', '.B .prolly/config.toml', roffText('storage tiers, routing, compression and security settings (committed; never holds credentials or keys)'));
  out.push('.TP', '.B .prolly/datasets/', roffText('one pointer file per dataset (committed)'));
  out.push('.TP', '.B .git/prolly/', roffText('the local chunk store, caches and metrics (not committed)'));
  out.push('.SH SEE ALSO');
  out.push('git(1), git\\-verify\\-commit(1), ssh\\-keygen(1); docs/CLI.md, docs/SQL.md, docs/TIERS.md, docs/VERIFY.md and docs/FORMAT.md in the git-prolly package.');
  return `${out.join('\n')}\n`;
}

/**
 * git-prolly(1) for the installed CLI: its command table, common options and version.
 * @example writeFileSync('man/git-prolly.1', await gitProllyManPage())
 */
export async function gitProllyManPage(): Promise<string> {
  const [{ commandSpecs, version }, { COMMON_OPTIONS }] = await Promise.all([import('./main.js'), import('./argv.js')]);
  return renderManPage({ commands: commandSpecs(), version: version(), commonOptions: COMMON_OPTIONS });
}

/**
 * Regenerate the manual page file (`npm run man`), atomically.
 * @example await writeGitProllyManPage('man/man1/git-prolly.1')
 */
export async function writeGitProllyManPage(path: string): Promise<void> {
  const { writeFileAtomic } = await import('../util/atomic-file.js');
  await writeFileAtomic(path, new TextEncoder().encode(await gitProllyManPage()));
}
