import * as fs from 'node:fs';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAllowedSignersLine, parseAllowedSigners } from '../../src/sign/allowed-signers.js';
import {
  commitSigningOptions,
  createCommitSigner,
  splitSignedCommit,
  verifyCommitSignature,
} from '../../src/sign/commit-signing.js';
import {
  encodeOpenSshPrivateKey,
  generateSshKeyPair,
  sshFingerprint,
  sshPublicKeyOf,
  writeOpenSshKeyFiles,
  type SshEd25519PrivateKey,
} from '../../src/sign/ssh-key.js';
import { makeTempDir, run, runOk, type RunResult } from './helpers.js';

const PRINCIPAL = 'signer@example.com';
const author = { name: 'Signer', email: PRINCIPAL, timestamp: 1_700_000_000, timezoneOffset: 0 };

let home: string;
let cleanup: () => void;
let repo: string;
let allowedSignersFile: string;
let trustedKey: SshEd25519PrivateKey;
let trustedKeyPath: string;
let strangerKey: SshEd25519PrivateKey;

beforeAll(async () => {
  ({ dir: home, cleanup } = makeTempDir('prolly-commit-sign-'));
  repo = join(home, 'repo');
  fs.mkdirSync(repo);
  await git.init({ fs, dir: repo, defaultBranch: 'main' });
  trustedKey = generateSshKeyPair({ comment: PRINCIPAL });
  trustedKeyPath = join(home, 'trusted_key');
  await writeOpenSshKeyFiles({ path: trustedKeyPath, privateKey: trustedKey });
  strangerKey = generateSshKeyPair({ comment: 'stranger' });
  allowedSignersFile = join(home, 'allowed_signers');
  fs.writeFileSync(allowedSignersFile, formatAllowedSignersLine({ principal: PRINCIPAL, publicKey: sshPublicKeyOf(trustedKey) }) + '\n');
});
afterAll(() => cleanup());

/** Plain git with SSH signature checking configured only through -c, and a throwaway HOME. */
function gitCli(args: string[], input?: string | Uint8Array, env: Record<string, string> = {}): RunResult {
  return run(
    'git',
    ['-c', 'gpg.format=ssh', '-c', `gpg.ssh.allowedSignersFile=${allowedSignersFile}`, '-c', 'user.name=Signer', '-c', `user.email=${PRINCIPAL}`, ...args],
    { home, cwd: repo, ...(input !== undefined ? { input } : {}), env },
  );
}

/** The raw commit object bytes, as git stores them (without the loose-object header). */
async function rawCommit(oid: string): Promise<Uint8Array> {
  const { object } = await git.readObject({ fs, dir: repo, oid, format: 'content' });
  return object as Uint8Array;
}

async function commitFile(options: { file: string; content: string; message: string; key: SshEd25519PrivateKey; ref?: string }): Promise<string> {
  fs.writeFileSync(join(repo, options.file), options.content);
  await git.add({ fs, dir: repo, filepath: options.file });
  return git.commit({
    fs,
    dir: repo,
    message: options.message,
    author,
    ...(options.ref ? { ref: options.ref } : {}),
    ...commitSigningOptions(options.key),
  });
}

describe('commits signed through isomorphic-git onSign', () => {
  let first: string;

  it('plain git verify-commit accepts them and git log shows a good "git" signature', async () => {
    first = await commitFile({ file: 'a.txt', content: 'one\n', message: 'first signed commit', key: trustedKey });
    const raw = Buffer.from(await rawCommit(first)).toString('utf8');
    expect(raw).toMatch(/\ncommitter [^\n]+\ngpgsig -----BEGIN SSH SIGNATURE-----\n( [A-Za-z0-9+/=]+\n)+ -----END SSH SIGNATURE-----\n\nfirst signed commit\n$/);

    const v = gitCli(['verify-commit', '-v', first]);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stderr).toContain(`Good "git" signature for ${PRINCIPAL} with ED25519 key ${sshFingerprint(sshPublicKeyOf(trustedKey))}`);
    const log = gitCli(['log', '--show-signature', '-1', first]);
    expect(log.status).toBe(0);
    expect(log.stdout).toContain('Good "git" signature');
    expect(gitCli(['log', '-1', '--format=%G?|%GS|%GF', first]).stdout.trim()).toBe(`G|${PRINCIPAL}|${sshFingerprint(sshPublicKeyOf(trustedKey))}`);
  });

  it('our verifyCommitSignature agrees: good, with principal and ssh-keygen fingerprint', async () => {
    const allowedSigners = parseAllowedSigners(fs.readFileSync(allowedSignersFile, 'utf8'), { source: allowedSignersFile });
    const r = verifyCommitSignature({ commitObject: await rawCommit(first), allowedSigners });
    const fingerprint = runOk('ssh-keygen', ['-l', '-f', `${trustedKeyPath}.pub`], { home }).stdout.split(' ')[1];
    expect(r).toMatchObject({ status: 'good', valid: true, signed: true, format: 'ssh', principal: PRINCIPAL, principals: [PRINCIPAL], fingerprint, signedAt: author.timestamp });
    // Also from the allowed-signers text and from a loose object with its "commit <size>\0" prefix.
    const body = await rawCommit(first);
    const loose = Buffer.concat([Buffer.from(`commit ${body.length}\0`), body]);
    expect(verifyCommitSignature({ commitObject: loose, allowedSigners: fs.readFileSync(allowedSignersFile, 'utf8') }).status).toBe('good');
  });

  it('the payload we rebuild is the unsigned commit isomorphic-git handed to onSign', async () => {
    const seen: string[] = [];
    const signer = createCommitSigner({ privateKey: trustedKey });
    const oid = await git.commit({
      fs,
      dir: repo,
      message: 'payload check',
      author,
      noUpdateBranch: true,
      signingKey: 'x',
      onSign: (args) => {
        seen.push(args.payload);
        return signer(args);
      },
    });
    expect(seen).toHaveLength(1);
    expect(Buffer.from(splitSignedCommit(await rawCommit(oid)).payload).toString('utf8')).toBe(seen[0]);
  });

  it('is byte-identical to the commit real git signs with the same key (git commit-tree -S)', async () => {
    const { commit } = await git.readCommit({ fs, dir: repo, oid: first });
    const gitOid = gitCli(['commit-tree', commit.tree, '-S' + trustedKeyPath, '-m', 'first signed commit'], undefined, {
      GIT_AUTHOR_DATE: `${author.timestamp} +0000`,
      GIT_COMMITTER_DATE: `${author.timestamp} +0000`,
    });
    expect(gitOid.status, gitOid.stderr).toBe(0);
    expect(gitOid.stdout.trim()).toBe(first);
    expect(Buffer.from(await rawCommit(gitOid.stdout.trim()))).toEqual(Buffer.from(await rawCommit(first)));
  });

  it('createCommitSigner can take the OpenSSH key text as signingKey', async () => {
    const oid = await git.commit({
      fs,
      dir: repo,
      message: 'key text as signingKey',
      author,
      noUpdateBranch: true,
      onSign: createCommitSigner(),
      signingKey: encodeOpenSshPrivateKey(trustedKey),
    });
    expect(gitCli(['verify-commit', oid]).status).toBe(0);
    const encrypted = join(home, 'encrypted_key');
    runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', encrypted], { home });
    await expect(
      git.commit({ fs, dir: repo, message: 'x', author, noUpdateBranch: true, onSign: createCommitSigner(), signingKey: fs.readFileSync(encrypted, 'utf8') }),
    ).rejects.toMatchObject({ code: 'EKEYENCRYPTED' });
  });

  it('a commit signed by a key not in allowed signers is rejected by git and by us', async () => {
    const oid = await commitFile({ file: 'b.txt', content: 'stranger\n', message: 'stranger commit', key: strangerKey });
    const v = gitCli(['verify-commit', oid]);
    expect(v.status).not.toBe(0);
    expect(gitCli(['log', '-1', '--format=%G?', oid]).stdout.trim()).not.toBe('G');
    const r = verifyCommitSignature({ commitObject: await rawCommit(oid), allowedSigners: fs.readFileSync(allowedSignersFile, 'utf8') });
    expect(r).toMatchObject({ status: 'untrusted', valid: false, signed: true, principals: [], fingerprint: sshFingerprint(sshPublicKeyOf(strangerKey)) });
    expect(r.reason).toMatch(/no principal/);
  });

  it('a tampered commit (message bytes edited, object rewritten) fails ours and git', async () => {
    const body = Buffer.from(await rawCommit(first));
    const tampered = Buffer.from(body.toString('utf8').replace('first signed commit', 'first signed commiT'));
    expect(tampered.equals(body)).toBe(false);
    const written = gitCli(['hash-object', '-t', 'commit', '-w', '--stdin'], tampered);
    expect(written.status, written.stderr).toBe(0);
    const oid = written.stdout.trim();
    expect(Buffer.from(await rawCommit(oid)).equals(tampered)).toBe(true);
    expect(gitCli(['verify-commit', oid]).status).not.toBe(0);
    const r = verifyCommitSignature({ commitObject: tampered, allowedSigners: fs.readFileSync(allowedSignersFile, 'utf8') });
    expect(r).toMatchObject({ status: 'bad', valid: false, signed: true });
    expect(r.reason).toMatch(/bad signature/);

    // Tampering with a header (the tree) is caught too.
    const otherTree = Buffer.from(body.toString('utf8').replace(/^tree [0-9a-f]{40}/, 'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904'));
    expect(verifyCommitSignature({ commitObject: otherTree, allowedSigners: fs.readFileSync(allowedSignersFile, 'utf8') }).status).toBe('bad');
  });

  it('a gpgsig-sha256 header is left out of the payload, as git does (git and we still say good)', async () => {
    const body = Buffer.from(await rawCommit(first)).toString('utf8');
    const withOther = body.replace('\ngpgsig ', '\ngpgsig-sha256 -----BEGIN SSH SIGNATURE-----\n bm90IGEgcmVhbCBzaWduYXR1cmU=\n -----END SSH SIGNATURE-----\ngpgsig ');
    expect(withOther).not.toBe(body);
    const written = gitCli(['hash-object', '-t', 'commit', '-w', '--stdin'], withOther);
    expect(written.status, written.stderr).toBe(0);
    expect(gitCli(['verify-commit', written.stdout.trim()]).status).toBe(0);
    expect(verifyCommitSignature({ commitObject: Buffer.from(withOther), allowedSigners: fs.readFileSync(allowedSignersFile, 'utf8') }).status).toBe('good');
  });

  it('merge commits signed through git.merge verify in git and in ours', async () => {
    await git.branch({ fs, dir: repo, ref: 'feature', object: first });
    const featureTip = await commitFile({ file: 'feature.txt', content: 'feature\n', message: 'feature work', key: trustedKey, ref: 'feature' });
    await git.checkout({ fs, dir: repo, ref: 'main' });
    const result = await git.merge({
      fs,
      dir: repo,
      ours: 'main',
      theirs: 'feature',
      fastForward: false,
      author,
      message: "Merge branch 'feature'",
      ...commitSigningOptions(trustedKey),
    });
    const mergeOid = result.oid!;
    const { commit } = await git.readCommit({ fs, dir: repo, oid: mergeOid });
    expect(commit.parent).toHaveLength(2);
    expect(commit.parent).toContain(featureTip);
    const v = gitCli(['verify-commit', mergeOid]);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stderr).toContain('Good "git" signature');
    const r = verifyCommitSignature({ commitObject: await rawCommit(mergeOid), allowedSigners: fs.readFileSync(allowedSignersFile, 'utf8') });
    expect(r).toMatchObject({ status: 'good', principal: PRINCIPAL });
  });

  it('unsigned commits are reported as unsigned; commits signed by real git verify in ours', async () => {
    const unsigned = await git.commit({ fs, dir: repo, message: 'unsigned', author, noUpdateBranch: true });
    const r = verifyCommitSignature({ commitObject: await rawCommit(unsigned), allowedSigners: '' });
    expect(r).toMatchObject({ status: 'unsigned', signed: false, valid: false });
    expect(gitCli(['verify-commit', unsigned]).status).not.toBe(0);

    const { commit } = await git.readCommit({ fs, dir: repo, oid: first });
    const gitSigned = gitCli(['commit-tree', commit.tree, '-p', first, '-S' + trustedKeyPath, '-m', 'made by real git\n\nwith a body\n']);
    expect(gitSigned.status, gitSigned.stderr).toBe(0);
    const ours = verifyCommitSignature({ commitObject: await rawCommit(gitSigned.stdout.trim()), allowedSigners: fs.readFileSync(allowedSignersFile, 'utf8') });
    expect(ours).toMatchObject({ status: 'good', principal: PRINCIPAL });
  });

  it('a PGP-looking signature is reported unsupported, not good', () => {
    const commitText =
      'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\n' +
      'gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\nmsg\n';
    expect(verifyCommitSignature({ commitObject: Buffer.from(commitText), allowedSigners: '' })).toMatchObject({ status: 'unsupported', format: 'openpgp', valid: false });
  });

  it('git fsck is clean after all of the above', () => {
    const f = gitCli(['fsck', '--strict', '--no-dangling']);
    expect(f.status, f.stderr + f.stdout).toBe(0);
    expect(f.stderr + f.stdout).not.toMatch(/error|warning|broken/i);
  });
});
