/**
 * Reading git's configuration the way git does — system, global, repository and worktree files, then
 * `git -c` / GIT_CONFIG_COUNT overrides — for the few settings git-prolly needs (user identity, core
 * flags). isomorphic-git reads only the repository file, which misses `user.name` set globally.
 * `[include]` directives are not followed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, ProllyError } from '../errors.js';
import type { RepoPaths } from './paths.js';

/** Values by canonical key (`section.key` or `section.subsection.key`; section and key lower-case). */
export type GitConfigValues = Map<string, string[]>;

/**
 * Parse one git config file's text into `into` (later values append).
 * @example parseGitConfig('[user]\n\tname = Ada\n').get('user.name') // ['Ada']
 */
export function parseGitConfig(text: string, into: GitConfigValues = new Map()): GitConfigValues {
  let section = '';
  let i = 0;
  const n = text.length;
  const skipLine = () => {
    while (i < n && text[i] !== '\n') i++;
    i++;
  };
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
      continue;
    }
    if (c === '#' || c === ';') {
      skipLine();
      continue;
    }
    if (c === '[') {
      const end = text.indexOf(']', i);
      if (end < 0) break;
      const header = text.slice(i + 1, end);
      const m = /^\s*([A-Za-z0-9.-]+)\s*(?:"((?:[^"\\]|\\.)*)")?\s*$/.exec(header);
      if (m) {
        const name = m[1]!.toLowerCase();
        if (m[2] !== undefined) section = `${name}.${m[2].replace(/\\(.)/g, '$1')}`;
        else {
          // Deprecated [section.sub] form: the subsection is lower-cased.
          const dot = name.indexOf('.');
          section = dot < 0 ? name : `${name.slice(0, dot)}.${name.slice(dot + 1)}`;
        }
      }
      i = end + 1;
      continue;
    }
    // key [= value]
    const keyMatch = /^[A-Za-z][A-Za-z0-9-]*/.exec(text.slice(i, i + 256));
    if (!keyMatch) {
      skipLine();
      continue;
    }
    const key = keyMatch[0].toLowerCase();
    i += keyMatch[0].length;
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    let value = 'true';
    if (text[i] === '=') {
      i++;
      value = '';
      let quoted = false;
      let pendingSpace = '';
      while (i < n) {
        const ch = text[i]!;
        if (ch === '\n' && !quoted) break;
        if (!quoted && (ch === '#' || ch === ';')) break; // comment: the rest of the line is skipped below
        if (ch === '"') {
          quoted = !quoted;
          i++;
          continue;
        }
        if (ch === '\\') {
          const next = text[i + 1];
          if (next === '\n') {
            i += 2;
            continue;
          }
          if (next === '\r' && text[i + 2] === '\n') {
            i += 3;
            continue;
          }
          value += pendingSpace + (({ n: '\n', t: '\t', b: '\b', '"': '"', '\\': '\\' } as Record<string, string>)[next ?? ''] ?? '');
          pendingSpace = '';
          i += 2;
          continue;
        }
        if (!quoted && (ch === ' ' || ch === '\t' || ch === '\r')) {
          if (value !== '') pendingSpace += ch === '\r' ? '' : ch;
          i++;
          continue;
        }
        value += pendingSpace + ch;
        pendingSpace = '';
        i++;
      }
    }
    const full = `${section}.${key}`;
    const list = into.get(full);
    if (list) list.push(value);
    else into.set(full, [value]);
    skipLine();
  }
  return into;
}

/**
 * All configuration visible to git in this repository, in git's precedence order (later wins).
 * @example readGitConfig(paths).get('user.email')?.at(-1)
 */
export function readGitConfig(paths: Pick<RepoPaths, 'gitDir' | 'commonDir'> | undefined, env: NodeJS.ProcessEnv = process.env): GitConfigValues {
  const values: GitConfigValues = new Map();
  const files: string[] = [];
  if (!env.GIT_CONFIG_NOSYSTEM) files.push(env.GIT_CONFIG_SYSTEM ?? '/etc/gitconfig');
  if (env.GIT_CONFIG_GLOBAL !== undefined) files.push(env.GIT_CONFIG_GLOBAL);
  else {
    const home = env.HOME ?? homedir();
    files.push(join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'git', 'config'), join(home, '.gitconfig'));
  }
  if (paths) {
    files.push(join(paths.commonDir, 'config'));
    if (paths.gitDir !== paths.commonDir) files.push(join(paths.gitDir, 'config.worktree'));
  }
  for (const f of files) {
    if (!f || f === '/dev/null' || !existsSync(f)) continue;
    try {
      parseGitConfig(readFileSync(f, 'utf8'), values);
    } catch {
      /* unreadable config: git would complain itself; we use what we could read */
    }
  }
  // GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n, then `git -c` (GIT_CONFIG_PARAMETERS).
  const count = Number(env.GIT_CONFIG_COUNT ?? 0);
  for (let k = 0; k < count; k++) {
    const key = env[`GIT_CONFIG_KEY_${k}`];
    const value = env[`GIT_CONFIG_VALUE_${k}`];
    if (key && value !== undefined) push(values, key, value);
  }
  const params = env.GIT_CONFIG_PARAMETERS;
  if (params) {
    for (const m of params.matchAll(/'((?:[^']|'\\'')*)'(?:=('((?:[^']|'\\'')*)'))?/g)) {
      const unq = (s: string) => s.replace(/'\\''/g, "'");
      const pair = unq(m[1]!);
      if (m[3] !== undefined) push(values, pair, unq(m[3]));
      else {
        const eq = pair.indexOf('=');
        if (eq > 0) push(values, pair.slice(0, eq), pair.slice(eq + 1));
        else push(values, pair, 'true');
      }
    }
  }
  return values;
}

function push(values: GitConfigValues, key: string, value: string): void {
  const parts = key.split('.');
  if (parts.length < 2) return;
  const canonical = parts.length === 2 ? key.toLowerCase() : `${parts[0]!.toLowerCase()}.${parts.slice(1, -1).join('.')}.${parts.at(-1)!.toLowerCase()}`;
  const list = values.get(canonical);
  if (list) list.push(value);
  else values.set(canonical, [value]);
}

/**
 * The last (winning) value of a key.
 * @example configValue(readGitConfig(paths), 'user.email')
 */
export function configValue(values: GitConfigValues, key: string): string | undefined {
  return values.get(key)?.at(-1);
}

/** A person and time as git records them in commits. */
export interface GitIdentity {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** Minutes west of UTC, as isomorphic-git and Date#getTimezoneOffset count them. */
  timezoneOffset: number;
}

/**
 * Author or committer identity as git would choose it: GIT_AUTHOR_* / GIT_COMMITTER_* environment,
 * then user.name / user.email. EGITSTATE with git's own advice when none is set.
 * @example const author = gitIdentity({ role: 'author', config })
 */
export function gitIdentity(options: { role: 'author' | 'committer'; config: GitConfigValues; env?: NodeJS.ProcessEnv; now?: Date }): GitIdentity {
  const env = options.env ?? process.env;
  const upper = options.role.toUpperCase();
  const name = env[`GIT_${upper}_NAME`] ?? configValue(options.config, `${options.role}.name`) ?? configValue(options.config, 'user.name') ?? env.EMAIL?.split('@')[0];
  const email = env[`GIT_${upper}_EMAIL`] ?? configValue(options.config, `${options.role}.email`) ?? configValue(options.config, 'user.email') ?? env.EMAIL;
  if (!name || !email) {
    throw new ProllyError(
      ErrorCodes.GIT_STATE,
      `${options.role} identity unknown: set it with git config --global user.name "Your Name" and git config --global user.email you@example.com`,
      { role: options.role },
    );
  }
  const date = parseGitDate(env[`GIT_${upper}_DATE`]) ?? { timestamp: Math.floor((options.now ?? new Date()).getTime() / 1000), timezoneOffset: (options.now ?? new Date()).getTimezoneOffset() };
  return { name, email, ...date };
}

/** The `@<seconds> <+hhmm>` and `<seconds> <+hhmm>` forms of GIT_*_DATE (enough for scripts and tests). */
function parseGitDate(value: string | undefined): { timestamp: number; timezoneOffset: number } | undefined {
  if (!value) return undefined;
  const m = /^@?(\d+)(?:\s+([+-])(\d\d)(\d\d))?$/.exec(value.trim());
  if (!m) return undefined;
  const sign = m[2] === '-' ? 1 : -1;
  const offset = m[2] ? sign * (Number(m[3]) * 60 + Number(m[4])) : 0;
  return { timestamp: Number(m[1]), timezoneOffset: offset };
}
