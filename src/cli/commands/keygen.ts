/**
 * `git prolly keygen [--out PATH] [--principal EMAIL] [--allowed-signers FILE] [--force]`: a new
 * Ed25519 signing key in OpenSSH format (what `ssh-keygen -t ed25519 -N ''` writes), and the
 * allowed-signers line that lets `git verify-commit` and `git prolly verify` trust it.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { configValue, readGitConfig } from '../../repo/git-config.js';
import { findRepo } from '../../repo/paths.js';
import type { Output } from '../output.js';

/** Where a new key goes unless --out says otherwise. */
export const DEFAULT_KEY_PATH = '~/.ssh/git-prolly_ed25519';

function expand(p: string): string {
  return p.startsWith('~/') ? join(homedir(), p.slice(2)) : resolve(p);
}

/** The principal for the allowed-signers line: --principal, else the git identity's e-mail. */
function principalOf(explicit: string | undefined): string {
  if (explicit) return explicit;
  let paths;
  try {
    paths = findRepo({ dir: process.cwd(), gitDir: process.env.GIT_DIR, workTree: process.env.GIT_WORK_TREE });
  } catch {
    paths = undefined;
  }
  const config = readGitConfig(paths);
  return process.env.GIT_COMMITTER_EMAIL ?? configValue(config, 'user.email') ?? process.env.EMAIL ?? `${process.env.USER ?? 'me'}@localhost`;
}

export async function run(out: Output, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const sign = await import('../../sign/index.js');
  const setting = (options.out as string | undefined) ?? DEFAULT_KEY_PATH;
  const path = expand(setting);
  const principal = principalOf(options.principal as string | undefined);
  const key = sign.generateSshKeyPair({ comment: (options.comment as string | undefined) ?? principal });
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  await sign.writeOpenSshKeyFiles({ path, privateKey: key, overwrite: Boolean(options.force) });
  const publicKey = sign.sshPublicKeyOf(key);
  const line = sign.formatAllowedSignersLine({ principal, publicKey });
  const fingerprint = sign.sshFingerprint(publicKey);
  const signersFile = options.allowedSigners as string | undefined;
  if (signersFile) {
    // Append, keeping what is there (and a newline before ours if the file lacks one at the end).
    const existing = existsSync(signersFile) ? readFileSync(signersFile, 'utf8') : '';
    mkdirSync(dirname(resolve(signersFile)), { recursive: true });
    appendFileSync(signersFile, `${existing && !existing.endsWith('\n') ? '\n' : ''}${line}\n`);
  }
  if (out.json) {
    await out.printJson({ privateKey: path, publicKey: `${path}.pub`, fingerprint, principal, allowedSignersLine: line, allowedSignersFile: signersFile ?? null });
    return;
  }
  const shown = setting.startsWith('~/') ? setting : path;
  await out.line(`Generated an Ed25519 signing key (${fingerprint}):`);
  await out.line(`  private key: ${path}   (keep it secret; it is not passphrase-protected)`);
  await out.line(`  public key:  ${path}.pub`);
  await out.line('');
  await out.line(signersFile ? `Added to ${signersFile}:` : 'Add this line to your allowed-signers file (e.g. .prolly/allowed_signers, committed with the repository):');
  await out.line(`  ${line}`);
  await out.line('');
  await out.line('Sign every dataset commit — in .prolly/config.toml:');
  await out.line('  [security]');
  await out.line('  sign_commits = true');
  await out.line(`  signing_key = "${shown}"`);
  await out.line('  allowed_signers = ".prolly/allowed_signers"');
  await out.line('or sign one commit: git prolly commit -S -m "…"');
  await out.line('So that plain git checks them too: git config gpg.ssh.allowedSignersFile .prolly/allowed_signers');
}
