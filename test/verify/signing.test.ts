/**
 * Signed commits through the real CLI, cross-checked with software nobody here wrote: `git
 * verify-commit` (gpg.format ssh, an allowed-signers file) and `ssh-keygen -Y verify`. Keys come from
 * `git prolly keygen` and from `ssh-keygen` itself; a commit by a key that is not allowed is caught by
 * `git prolly verify` and by git alike.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt } from '../cli/helpers.js';
import { catCommit, signingRepo, splitGpgsig, type SigningRepo } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

const sshKeygen = (args: string[], opts: { cwd: string; input?: string }) => spawnSync('ssh-keygen', args, { cwd: opts.cwd, input: opts.input, encoding: 'utf8' });

describe('signed commits', () => {
  let r: SigningRepo;
  beforeAll(() => {
    r = signingRepo({ sign: false });
  });
  afterAll(() => r.cleanup());

  test('keygen writes an OpenSSH key pair that ssh-keygen reads, and the allowed-signers line', () => {
    const pub = readFileSync(`${r.key}.pub`, 'utf8');
    expect(pub).toMatch(/^ssh-ed25519 AAAA\S+/);
    // ssh-keygen derives the same public key from our private key file.
    const derived = sshKeygen(['-y', '-f', r.key], { cwd: r.dir });
    expect(derived.status).toBe(0);
    expect(derived.stdout.split(' ').slice(0, 2)).toEqual(pub.split(' ').slice(0, 2));
    expect(readFileSync(r.signers, 'utf8')).toBe(`committer@example.org namespaces="git" ${pub.split(' ').slice(0, 2).join(' ')}\n`);
  });

  test('commit -S signs; git verify-commit and ssh-keygen -Y verify both accept it', () => {
    r.ok(['put', 'users', 'alice', '{"age":31}']);
    r.ok(['commit', '-S', '-m', 'signed with -S']);
    const verify = r.git(['verify-commit', 'HEAD']);
    expect(verify.code).toBe(0);
    expect(verify.stderr).toContain('Good "git" signature for committer@example.org');

    const [payload, signature] = splitGpgsig(catCommit(r, 'HEAD'));
    expect(signature).toContain('-----BEGIN SSH SIGNATURE-----');
    const sigFile = join(r.home, 'commit.sig');
    writeFileSync(sigFile, signature);
    const ok = sshKeygen(['-Y', 'verify', '-f', r.signers, '-I', 'committer@example.org', '-n', 'git', '-s', sigFile], { cwd: r.dir, input: payload });
    expect(ok.stdout + ok.stderr).toContain('Good "git" signature for committer@example.org');
    expect(ok.status).toBe(0);
    // The same signature over a payload with one byte changed is refused by ssh-keygen too.
    const bad = sshKeygen(['-Y', 'verify', '-f', r.signers, '-I', 'committer@example.org', '-n', 'git', '-s', sigFile], { cwd: r.dir, input: payload.replace('signed with -S', 'signed with -s') });
    expect(bad.status).not.toBe(0);
  });

  test('without -S and with sign_commits off, the commit is unsigned; git prolly verify --require-signatures names it', () => {
    r.ok(['put', 'users', 'bob', '{"age":40}']);
    r.ok(['commit', '-m', 'unsigned']);
    expect(catCommit(r, 'HEAD')).not.toContain('gpgsig');
    expect(r.git(['verify-commit', 'HEAD']).code).not.toBe(0);
    const { code, report } = r.verifyJson(['--from', 'HEAD~2', '--require-signatures']);
    expect(code).toBe(1);
    expect(report.problems).toEqual([expect.objectContaining({ check: 'signature', commit: r.head() })]);
    expect(report.problems[0]!.message).toContain('is not signed');
    expect(report.commits.map((c) => c.signature.status)).toEqual(['good', 'unsigned']);
  });

  test('[security] sign_commits signs every commit, and merges the tool makes', () => {
    r.config((t) => t.replace(/^sign_commits = false$/m, 'sign_commits = true'));
    r.ok(['commit', '--allow-empty', '-m', 'config: sign commits']);
    expect(r.git(['verify-commit', 'HEAD']).code).toBe(0);

    r.gitOk(['checkout', '-q', '-b', 'feature']);
    r.ok(['put', 'users', 'carol', '{"age":22}']);
    r.ok(['commit', '-m', 'carol on feature']);
    r.gitOk(['checkout', '-q', 'main']);
    r.ok(['put', 'users', 'dave', '{"age":50}']);
    r.ok(['commit', '-m', 'dave on main']);
    r.ok(['merge', 'feature']);
    const parents = r.gitOk(['rev-list', '--parents', '-n', '1', 'HEAD']).trim().split(' ');
    expect(parents).toHaveLength(3);
    const verify = r.git(['verify-commit', 'HEAD']);
    expect(verify.stderr).toContain('Good "git" signature');
    expect(verify.code).toBe(0);
    expect(r.ok(['get', 'users', 'carol'])).toBe('{"age":22}');
    // Every commit since the config change carries a good signature by the allowed key.
    const { code, report } = r.verifyJson(['--from', 'HEAD~3', '--require-signatures']);
    expect(report.problems).toEqual([]);
    expect(code).toBe(0);
    expect(report.commits.length).toBe(4);
    expect(report.commits.every((c) => c.signature.status === 'good')).toBe(true);
  });

  test('a commit signed by a key that is not in allowed signers is caught by git prolly verify and by git', () => {
    const other = join(r.home, 'other_key');
    r.ok(['keygen', '--out', other, '--principal', 'mallory@example.org']);
    r.ok(['put', 'users', 'mallory', '{"admin":true}']);
    r.ok(['commit', '-S', other, '-m', 'signed by an unknown key']);
    const culprit = r.head();
    expect(catCommit(r, culprit)).toContain('gpgsig');
    const git = r.git(['verify-commit', culprit]);
    expect(git.code).not.toBe(0);
    const { code, report } = r.verifyJson(['--from', 'HEAD~1', '--require-signatures']);
    expect(code).toBe(1);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({ check: 'signature', commit: culprit });
    expect(report.problems[0]!.message).toMatch(/not allowed/);
    // The human output names the commit too.
    const human = r.prolly(['verify', '--from', 'HEAD~1', '--require-signatures']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`commit ${culprit.slice(0, 7)}`);
    expect(human.stdout).toContain('signed by an unknown key');
  });

  test('existing ssh-keygen keys: an unencrypted one signs; an encrypted one fails with a clear error and writes nothing', () => {
    const plain = join(r.home, 'ssh_plain');
    const locked = join(r.home, 'ssh_locked');
    expect(sshKeygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'committer@example.org', '-f', plain], { cwd: r.home }).status).toBe(0);
    expect(sshKeygen(['-q', '-t', 'ed25519', '-N', 'secret words', '-f', locked], { cwd: r.home }).status).toBe(0);
    const pub = readFileSync(`${plain}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(r.signers, readFileSync(r.signers, 'utf8') + `committer@example.org namespaces="git" ${pub}\n`);

    r.ok(['put', 'users', 'erin', '1']);
    r.ok(['commit', '-S', plain, '-m', 'signed with an ssh-keygen key']);
    expect(r.git(['verify-commit', 'HEAD']).code).toBe(0);

    const before = r.head();
    r.ok(['put', 'users', 'frank', '1']);
    const fail = r.prolly(['commit', '-S', locked, '-m', 'should not happen']);
    expect(fail.code).toBe(2);
    expect(fail.stderr).toMatch(/ssh_locked: this SSH key is passphrase-protected/);
    expect(fail.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.head()).toBe(before);
  });
});
