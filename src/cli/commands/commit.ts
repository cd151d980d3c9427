/** `git prolly commit -m MSG [-S [keyfile]]`: commit the datasets only (signed with -S or [security] sign_commits). */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCodes, ProllyError, invalidArgument } from '../../errors.js';
import { configValue, readGitConfig } from '../../repo/git-config.js';
import type { Repo } from '../../repo/repo.js';
import { withRepo } from '../context.js';
import type { Output } from '../output.js';

/** The signer `-S` asks for: the key given, else [security] signing_key, else git's user.signingkey, else keygen's default key. */
async function explicitSigner(repo: Repo, option: unknown): Promise<((payload: string) => Promise<string>) | undefined> {
  if (option === undefined || option === false) return undefined;
  const { keyFileSigner, signingKeyPath } = await import('../../repo/commit.js');
  // -S alone: [security] signing_key, else git's user.signingkey (a key file), else the key keygen makes by default.
  const keygenDefault = join(homedir(), '.ssh', 'git-prolly_ed25519');
  const setting =
    typeof option === 'string'
      ? option
      : (repo.config.security.signing_key ?? configValue(readGitConfig(repo.paths), 'user.signingkey')?.replace(/\.pub$/, '') ?? (existsSync(keygenDefault) ? keygenDefault : undefined));
  if (!setting) {
    throw new ProllyError(ErrorCodes.BAD_CONFIG, '-S needs a signing key: git prolly commit -S <key file>, or set [security] signing_key in .prolly/config.toml (make one with git prolly keygen)', { key: 'security.signing_key' });
  }
  // A key named on the command line is relative to where the command runs; the configured one to the work tree.
  const path = typeof option === 'string' ? (setting.startsWith('~/') ? join(homedir(), setting.slice(2)) : resolve(setting)) : signingKeyPath(repo, setting);
  return keyFileSigner(path);
}

export async function run(out: Output, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  if (typeof options.message !== 'string') throw invalidArgument('commit needs a message: git prolly commit -m "…"');
  await withRepo('commit', async (repo) => {
    const sign = await explicitSigner(repo, options.sign);
    const git = await repo.git();
    const before = (await git.head()).oid ?? null;
    const r = await repo.commit({ message: options.message as string, allowEmpty: Boolean(options.allowEmpty), ...(sign ? { sign } : {}) });
    if (r.oid) {
      const { appendCommitAudit, recordAudit } = await import('../../audit/index.js');
      await recordAudit(() => appendCommitAudit(repo, { op: r.merge ? 'merge' : 'commit', commit: r.oid!, before, ref: r.branch ?? null, datasets: r.datasets }));
    }
    const branch = r.branch?.replace(/^refs\/heads\//, '') ?? 'detached HEAD';
    if (out.json) {
      await out.printJson({ commit: r.oid ?? null, branch: r.branch ?? null, datasets: r.datasets, merge: r.merge, signed: Boolean(sign) || repo.config.security.sign_commits });
      return;
    }
    if (!r.oid) {
      await out.line('nothing to commit (datasets and .prolly/ unchanged since HEAD)');
      return;
    }
    await out.line(`[${branch} ${r.oid.slice(0, 7)}] ${(options.message as string).split('\n')[0]}`);
    if (r.datasets.length > 0) await out.line(` ${r.datasets.length} ${r.datasets.length === 1 ? 'dataset' : 'datasets'} changed: ${r.datasets.join(', ')}`);
  });
}
