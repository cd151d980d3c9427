/**
 * `git prolly init`: set up git-prolly in an existing git repository. Idempotent — running it again
 * (for example after cloning, since `.git/config` is not cloned) only fills in what is missing.
 *
 * - `.prolly/config.toml` with the defaults (an existing one is validated, never overwritten);
 * - `.prolly/datasets/` for pointer files;
 * - `.prolly/.gitattributes` routing pointer files to the prolly merge and diff drivers (inside
 *   `.prolly/`, so it is committed by `git prolly commit` and travels with clones);
 * - `.git/config`: `merge.prolly.driver`, `diff.prolly.command` (structural diff for `git diff`) and
 *   `diff.prolly.textconv` + `cachetextconv` (key listing for `git log -p` / `git show`);
 * - the local chunk store under `.git/prolly/store`.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG_TOML, parseConfig } from '../config/config.js';
import { writeFileAtomicSync } from '../util/atomic-file.js';
import { utf8 } from '../util/bytes.js';
import { ATTRIBUTES_PATH, CONFIG_PATH, DATASETS_PATH, findRepo, type RepoPaths } from './paths.js';
import { openRepo } from './repo.js';

/** The line `.prolly/.gitattributes` must contain. */
export const ATTRIBUTES_LINE = 'datasets/** merge=prolly diff=prolly -text';

/** What init found and did. */
export interface InitResult {
  paths: RepoPaths;
  /** Files or settings created or changed (empty when everything was already set up). */
  changed: string[];
  /** The command git will run for the drivers (`git-prolly` or an absolute path). */
  command: string;
}

/**
 * Set up git-prolly in the git repository containing `dir`. ENOTREPO outside one.
 * @example const { changed } = await initRepo({ dir: process.cwd() })
 */
export async function initRepo(options: { dir?: string; command?: string } = {}): Promise<InitResult> {
  const paths = findRepo({ dir: options.dir ?? process.cwd() });
  const changed: string[] = [];

  mkdirSync(join(paths.workTree, DATASETS_PATH), { recursive: true });
  const configFile = join(paths.workTree, CONFIG_PATH);
  if (existsSync(configFile)) parseConfig(readFileSync(configFile, 'utf8'), { file: CONFIG_PATH });
  else {
    writeFileAtomicSync(configFile, utf8(DEFAULT_CONFIG_TOML));
    changed.push(CONFIG_PATH);
  }

  const attributesFile = join(paths.workTree, ATTRIBUTES_PATH);
  const attributes = existsSync(attributesFile) ? readFileSync(attributesFile, 'utf8') : '';
  if (!attributes.split(/\r?\n/).some((l) => l.trim() === ATTRIBUTES_LINE)) {
    const header = attributes === '' ? '# Dataset pointer files: merged and diffed by git-prolly (see git prolly init)\n' : attributes.endsWith('\n') ? '' : '\n';
    writeFileAtomicSync(attributesFile, utf8(`${attributes}${header}${ATTRIBUTES_LINE}\n`));
    changed.push(ATTRIBUTES_PATH);
  }

  const command = options.command ?? driverCommand();
  const settings: [string, string][] = [
    ['merge.prolly.name', 'git-prolly three-way dataset merge'],
    ['merge.prolly.driver', `${command} merge-driver %O %A %B %P`],
    ['diff.prolly.command', `${command} diff-driver`],
    ['diff.prolly.textconv', `${command} textconv`],
    ['diff.prolly.cachetextconv', 'true'],
  ];
  const git = (await import('isomorphic-git')).default;
  const fs = await import('node:fs');
  for (const [path, value] of settings) {
    const current = await git.getConfig({ fs, gitdir: paths.commonDir, path });
    if (String(current) !== value) {
      await git.setConfig({ fs, gitdir: paths.commonDir, path, value });
      changed.push(`git config ${path}`);
    }
  }

  const created = !existsSync(paths.storeDir);
  const repo = await openRepo({ dir: paths.workTree, allowUninitialized: true, purpose: 'git-prolly init' });
  try {
    await repo.writer();
  } finally {
    await repo.close();
  }
  if (created) changed.push(paths.storeDir);
  return { paths, changed, command };
}

/**
 * The command git should run: `git-prolly` when that name on PATH is this installation, else the
 * absolute path of this installation's bin/git-prolly (quoted for the shell git runs drivers with).
 * @example driverCommand() // 'git-prolly' or "'/opt/git-prolly/bin/git-prolly'"
 */
export function driverCommand(env: NodeJS.ProcessEnv = process.env): string {
  const bin = ownBin();
  if (!bin) return 'git-prolly';
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'git-prolly');
    try {
      if (statSync(candidate).isFile() && realpathSync(candidate) === realpathSync(bin)) return 'git-prolly';
    } catch {
      /* not here */
    }
  }
  return `'${bin.replace(/'/g, `'\\''`)}'`;
}

/** This installation's bin/git-prolly, found from this module's location (src/ or dist/src/). */
function ownBin(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'bin', 'git-prolly');
    if (existsSync(candidate) && existsSync(join(dir, 'package.json'))) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}
