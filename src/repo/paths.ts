/**
 * Where things are: the git work tree and git directories, and git-prolly's files in them
 * (ARCHITECTURE.md decisions 7 and 8). Committed state lives in the work tree under `.prolly/`;
 * local state (chunk store, lock, merge conflicts) under the git directory's `prolly/`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ErrorCodes, ProllyError } from '../errors.js';

/** Work-tree folder of committed git-prolly files. */
export const PROLLY_DIR = '.prolly';
/** Work-tree folder of dataset pointer files, relative to the work tree root (git path syntax). */
export const DATASETS_PATH = '.prolly/datasets';
/** Config file, relative to the work tree root. */
export const CONFIG_PATH = '.prolly/config.toml';
/** Attributes file that routes pointer files to the merge and diff drivers. */
export const ATTRIBUTES_PATH = '.prolly/.gitattributes';

/** The paths of one repository. */
export interface RepoPaths {
  /** Absolute work tree root. */
  workTree: string;
  /** This work tree's git directory (`.git`, or `.git/worktrees/<name>` for linked work trees). */
  gitDir: string;
  /** The repository's shared git directory (objects, refs), equal to gitDir except in linked work trees. */
  commonDir: string;
  /** `<commonDir>/prolly`: local state shared by all work trees. */
  prollyDir: string;
  /** The local chunk store directory. */
  storeDir: string;
  /** The lock taken by every state-changing command. */
  lockPath: string;
  /** Per-work-tree record of unresolved merge conflicts, one JSON file per dataset. */
  conflictsDir: string;
}

/**
 * Find the repository containing `dir` (walking up like git does). `gitDir` / `workTree` override
 * discovery the way GIT_DIR / GIT_WORK_TREE do. Throws ENOTREPO outside a git work tree.
 *
 * @example
 * const paths = findRepo({ dir: process.cwd() });
 * paths.storeDir // '/home/me/project/.git/prolly/store'
 */
export function findRepo(options: { dir: string; gitDir?: string; workTree?: string }): RepoPaths {
  const start = resolve(options.dir);
  if (options.gitDir) {
    const gitDir = resolve(start, options.gitDir);
    if (!isGitDir(gitDir)) throw notARepo(start, `GIT_DIR ${gitDir} is not a git directory`);
    const workTree = options.workTree ? resolve(start, options.workTree) : dirname(gitDir);
    return pathsFor(workTree, gitDir);
  }
  let dir = start;
  for (;;) {
    const dotGit = join(dir, '.git');
    let st;
    try {
      st = statSync(dotGit);
    } catch {
      st = undefined;
    }
    if (st?.isDirectory() && isGitDir(dotGit)) return pathsFor(dir, dotGit);
    if (st?.isFile()) {
      // A linked work tree or submodule: ".git" is a file "gitdir: <path>".
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, 'utf8'));
      if (m) {
        const gitDir = resolve(dir, m[1]!);
        if (isGitDir(gitDir)) return pathsFor(dir, gitDir);
      }
    }
    if (isGitDir(dir) && !existsSync(join(dir, 'index')) && /^(true)$/im.test(readConfigBare(dir))) {
      throw notARepo(start, `${dir} is a bare repository; git-prolly needs a work tree`);
    }
    const parent = dirname(dir);
    if (parent === dir) throw notARepo(start);
    dir = parent;
  }
}

function pathsFor(workTree: string, gitDir: string): RepoPaths {
  let commonDir = gitDir;
  const commonFile = join(gitDir, 'commondir');
  if (existsSync(commonFile)) {
    const rel = readFileSync(commonFile, 'utf8').trim();
    commonDir = isAbsolute(rel) ? rel : resolve(gitDir, rel);
  }
  const prollyDir = join(commonDir, 'prolly');
  return {
    workTree,
    gitDir,
    commonDir,
    prollyDir,
    storeDir: join(prollyDir, 'store'),
    lockPath: join(prollyDir, 'lock'),
    conflictsDir: join(gitDir, 'prolly', 'conflicts'),
  };
}

/** A directory with HEAD and objects/ (or a commondir file) looks like a git directory. */
function isGitDir(dir: string): boolean {
  return existsSync(join(dir, 'HEAD')) && (existsSync(join(dir, 'objects')) || existsSync(join(dir, 'commondir')));
}

function readConfigBare(dir: string): string {
  try {
    const m = /^\s*bare\s*=\s*(\w+)/m.exec(readFileSync(join(dir, 'config'), 'utf8'));
    return m ? m[1]! : '';
  } catch {
    return '';
  }
}

function notARepo(dir: string, detail?: string): ProllyError {
  return new ProllyError(ErrorCodes.NOT_A_REPOSITORY, `not a git repository (or any parent up to /): ${dir}${detail ? ` — ${detail}` : ''}`, { dir });
}

/**
 * Path of a dataset's pointer file relative to the work tree root, in git's `/` syntax.
 * @example pointerPath('users') // '.prolly/datasets/users'
 */
export function pointerPath(name: string): string {
  return `${DATASETS_PATH}/${name}`;
}
