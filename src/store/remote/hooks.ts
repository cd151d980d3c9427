/**
 * The pre-push hook: `git push` runs `git prolly push --hook`, which uploads the chunks of every
 * commit about to be published before git sends the commits, and stops the push (non-zero exit)
 * when it cannot — so a pushed commit never names data the remote tiers do not have.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ErrorCodes, ProllyError } from '../../errors.js';
import { writeFileAtomicSync } from '../../util/atomic-file.js';
import { utf8 } from '../../util/bytes.js';

/** Marks a hook file as written by git-prolly (so reinstalling may replace it). */
export const HOOK_MARKER = '# git-prolly pre-push hook';

/**
 * Where git looks for hooks: core.hooksPath (relative to the work tree) or `<git dir>/hooks`.
 * @example hooksDir({ commonDir: '/repo/.git', workTree: '/repo' }) // '/repo/.git/hooks'
 */
export function hooksDir(opts: { commonDir: string; workTree: string; hooksPath?: string }): string {
  if (opts.hooksPath) return isAbsolute(opts.hooksPath) ? opts.hooksPath : resolve(opts.workTree, opts.hooksPath);
  return join(opts.commonDir, 'hooks');
}

/**
 * The hook script: runs `<command> push --hook` with git's standard input (the refs being pushed).
 * @example prePushHookScript('git-prolly')
 */
export function prePushHookScript(command: string): string {
  return `#!/bin/sh
${HOOK_MARKER} (installed by \`git prolly install-hooks\`; remove this file to disable).
# Uploads the chunks of the commits being pushed to the storage backends before git sends them.
# git passes one line per ref on standard input (the git remote's name and URL are not needed:
# chunks go to the storage backends of .prolly/config.toml). GIT_PROLLY_SKIP_HOOK=1 skips it.
if [ -n "$GIT_PROLLY_SKIP_HOOK" ]; then exit 0; fi
exec ${command} push --hook
`;
}

/** What installPrePushHook did. */
export interface InstallHookResult {
  path: string;
  /** 'installed', 'updated' or 'unchanged'. */
  action: 'installed' | 'updated' | 'unchanged';
}

/**
 * Write `<hooks dir>/pre-push`. An existing hook that git-prolly did not write is kept unless
 * `force` (then it is saved as `pre-push.before-prolly`).
 *
 * @example installPrePushHook({ dir: '/repo/.git/hooks', command: 'git-prolly' })
 */
export function installPrePushHook(opts: { dir: string; command: string; force?: boolean }): InstallHookResult {
  const path = join(opts.dir, 'pre-push');
  const script = prePushHookScript(opts.command);
  let action: InstallHookResult['action'] = 'installed';
  if (existsSync(path)) {
    const current = readFileSync(path, 'utf8');
    if (current === script) return { path, action: 'unchanged' };
    if (!current.includes(HOOK_MARKER)) {
      if (!opts.force) {
        throw new ProllyError(
          ErrorCodes.INVALID_ARGUMENT,
          `${path} already exists and was not written by git-prolly; rerun with --force to replace it (it is kept as pre-push.before-prolly)`,
          { path },
        );
      }
      writeFileAtomicSync(join(opts.dir, 'pre-push.before-prolly'), utf8(current));
    }
    action = 'updated';
  }
  mkdirSync(opts.dir, { recursive: true });
  writeFileAtomicSync(path, utf8(script));
  chmodSync(path, 0o755);
  return { path, action };
}

/** One ref update git's pre-push hook is told about. */
export interface PushedRef {
  localRef: string;
  localOid: string;
  remoteRef: string;
  remoteOid: string;
}

/**
 * Parse the pre-push hook's standard input (`<local ref> <local oid> <remote ref> <remote oid>` lines).
 * @example parsePrePushInput('refs/heads/main 1111… refs/heads/main 0000…\n')
 */
export function parsePrePushInput(text: string): PushedRef[] {
  const out: PushedRef[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 4) continue;
    const [localRef, localOid, remoteRef, remoteOid] = parts as [string, string, string, string];
    out.push({ localRef, localOid, remoteRef, remoteOid });
  }
  return out;
}

/**
 * True for git's all-zero object id (a deleted or absent ref).
 * @example isZeroOid('0000000000000000000000000000000000000000') // true
 */
export function isZeroOid(oid: string): boolean {
  return /^0+$/.test(oid);
}
