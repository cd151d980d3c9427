/**
 * `git prolly demo [dir]` (`npm run demo`): an end-to-end tour in a fresh repository on the local
 * store — init, import the sample dataset, commit, branch, change both sides, a plain `git merge`
 * through the merge driver, diffs, a same-key conflict listed and resolved, and a key's history.
 * Every step runs the real commands (git and git prolly) and shows their output.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, ProllyError } from '../../errors.js';
import { sampleUsersCsv } from '../../dataset/sample.js';
import type { Output } from '../output.js';

/** The package root (where bin/ and fixtures/ are), from this module's location. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'bin', 'git-prolly')) && existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new ProllyError(ErrorCodes.GIT_STATE, 'cannot find the git-prolly installation (bin/git-prolly) for the demo');
}

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<number> {
  const [dirArg] = args as [string | undefined];
  const root = packageRoot();
  const dir = dirArg ? resolve(dirArg) : mkdtempSync(join(tmpdir(), 'git-prolly-demo-'));
  if (dirArg) {
    mkdirSync(dir, { recursive: true });
    if (readdirSync(dir).length > 0) throw new ProllyError(ErrorCodes.INVALID_ARGUMENT, `demo directory ${dir} is not empty`);
  }
  const keep = Boolean(dirArg) || Boolean(options.keep);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: [join(root, 'bin'), dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
    GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? 'Demo User',
    GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? 'demo@example.org',
    GIT_COMMITTER_NAME: process.env.GIT_COMMITTER_NAME ?? 'Demo User',
    GIT_COMMITTER_EMAIL: process.env.GIT_COMMITTER_EMAIL ?? 'demo@example.org',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
  };
  const bold = (s: string) => (out.interactive ? `\x1b[1m${s}\x1b[0m` : s);
  let failed = false;
  const sh = async (title: string | undefined, cmd: string[], expectFailure = false): Promise<string> => {
    if (failed) return '';
    if (title) await out.line(`\n${bold(`# ${title}`)}`);
    await out.line(bold(`$ ${cmd.map((a) => (/^[\w@%+=:,./~-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')}`));
    const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: dir, env, encoding: 'utf8', maxBuffer: 64 << 20 });
    const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.replace(/\n$/, '');
    if (text) await out.line(text);
    if (r.error || (r.status !== 0) !== expectFailure) {
      failed = true;
      await out.line(`!! step failed (exit ${r.status ?? r.error?.message}); the demo repository is kept at ${dir}`);
    }
    return r.stdout ?? '';
  };

  const sample = join(root, 'fixtures', 'sample', 'users.csv');
  const csv = existsSync(sample) ? sample : join(dir, '..', `users-${process.pid}.csv`);
  if (!existsSync(sample)) writeFileSync(csv, sampleUsersCsv());

  await out.line(`git-prolly demo in ${dir}`);
  await sh('A git repository with git-prolly set up', ['git', 'init', '-q', '-b', 'main']);
  await sh(undefined, ['git', 'prolly', 'init']);
  await sh('Import the sample dataset (3,000 users) and commit it', ['git', 'prolly', 'import', 'users', csv, '--key', 'id']);
  await sh(undefined, ['git', 'prolly', 'commit', '-m', 'Import users']);
  await sh(undefined, ['git', 'prolly', 'datasets']);
  await sh(undefined, ['git', 'prolly', 'get', 'users', 'u00042']);
  await sh('A feature branch: one user upgraded, one removed, one added', ['git', 'switch', '-q', '-c', 'feature']);
  await sh(undefined, ['git', 'prolly', 'put', 'users', 'u00042', '{"id":"u00042","name":"Ada Lovelace","plan":"team","score":"99.0"}']);
  await sh(undefined, ['git', 'prolly', 'del', 'users', 'u00007']);
  await sh(undefined, ['git', 'prolly', 'put', 'users', 'u03001', '{"id":"u03001","name":"Grace Hopper","plan":"pro"}']);
  await sh(undefined, ['git', 'prolly', 'status']);
  await sh(undefined, ['git', 'prolly', 'commit', '-m', 'Upgrade u00042, remove u00007, add u03001']);
  await sh('Meanwhile on main: a different user changes', ['git', 'switch', '-q', 'main']);
  await sh(undefined, ['git', 'prolly', 'get', 'users', 'u00042']);
  await sh(undefined, ['git', 'prolly', 'put', 'users', 'u00100', '{"id":"u00100","name":"Alan Turing","plan":"pro"}']);
  await sh(undefined, ['git', 'prolly', 'commit', '-m', 'Upgrade u00100']);
  await sh('Plain git merge: the merge driver merges key by key, no conflict', ['git', 'merge', '--no-edit', 'feature']);
  await sh(undefined, ['git', 'prolly', 'get', 'users', 'u00042']);
  await sh(undefined, ['git', 'prolly', 'diff', 'HEAD~1', 'HEAD', '--stat']);
  await sh(undefined, ['git', 'prolly', 'diff', 'HEAD~1', 'HEAD']);
  await sh('git log -p shows key-level changes too (textconv)', ['git', 'log', '-p', '-1', 'feature', '--format=%h %s']);
  await sh('A same-key conflict', ['git', 'switch', '-q', '-c', 'pricing']);
  await sh(undefined, ['git', 'prolly', 'put', 'users', 'u00100', '{"id":"u00100","name":"Alan Turing","plan":"team"}']);
  await sh(undefined, ['git', 'prolly', 'commit', '-m', 'u00100 to team']);
  await sh(undefined, ['git', 'switch', '-q', 'main']);
  await sh(undefined, ['git', 'prolly', 'put', 'users', 'u00100', '{"id":"u00100","name":"Alan Turing","plan":"free"}']);
  await sh(undefined, ['git', 'prolly', 'commit', '-m', 'u00100 back to free']);
  await sh(undefined, ['git', 'merge', '--no-edit', 'pricing'], true);
  await sh(undefined, ['git', 'prolly', 'conflicts']);
  await sh(undefined, ['git', 'prolly', 'resolve', 'users', 'u00100', '--theirs']);
  await sh(undefined, ['git', 'prolly', 'commit', '-m', 'Merge pricing']);
  await sh(undefined, ['git', 'log', '--oneline', '--graph']);
  await sh('The history of one key, from structural diffs', ['git', 'prolly', 'history', 'users', 'u00100']);
  await sh(undefined, ['git', 'fsck', '--no-progress']);
  if (!existsSync(sample)) rmSync(csv, { force: true });
  if (failed) return 2;
  if (keep) await out.line(`\nDone. The demo repository is at ${dir}`);
  else {
    rmSync(dir, { recursive: true, force: true });
    await out.line('\nDone. (Run git prolly demo <dir> or add --keep to keep the repository.)');
  }
  return 0;
}
