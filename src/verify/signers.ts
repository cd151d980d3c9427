/**
 * Which allowed-signers file a check uses: the one named on the command line, else `[security]
 * allowed_signers` from `.prolly/config.toml`, else git's own `gpg.ssh.allowedSignersFile` — so the
 * file `git verify-commit` trusts is the one git-prolly trusts too.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { configValue, readGitConfig } from '../repo/git-config.js';
import type { Repo } from '../repo/repo.js';
import { readAllowedSignersFile, type AllowedSigners } from '../sign/allowed-signers.js';

/**
 * The allowed signers for `repo` (undefined when none is configured anywhere). A file that is named
 * but unreadable or malformed throws (ENOENT / EALLOWEDSIGNERS naming it and the line).
 * @example const signers = await allowedSignersFor(repo, opts.allowedSigners);
 */
export async function allowedSignersFor(repo: Repo | undefined, explicit?: string): Promise<AllowedSigners | undefined> {
  if (explicit !== undefined) return readAllowedSignersFile(resolve(explicit));
  if (!repo) return undefined;
  const fromConfig = repo.config.security.allowed_signers;
  const fromGit = configValue(readGitConfig(repo.paths), 'gpg.ssh.allowedsignersfile');
  const setting = fromConfig ?? fromGit;
  if (!setting) return undefined;
  const path = setting.startsWith('~/') ? join(homedir(), setting.slice(2)) : isAbsolute(setting) ? setting : join(repo.paths.workTree, setting);
  return readAllowedSignersFile(path);
}
