import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import {
  encodeOpenSshPrivateKey,
  formatSshPublicKey,
  generateSshKeyPair,
  parseOpenSshPrivateKey,
  parseSshPublicKey,
  readOpenSshPrivateKeyFile,
  sameSshPublicKey,
  sshFingerprint,
  sshPublicKeyOf,
  writeOpenSshKeyFiles,
} from '../../src/sign/ssh-key.js';
import { makeTempDir, run, runOk } from './helpers.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = makeTempDir());
});
afterAll(() => cleanup());

function expectProllyError(fn: () => unknown, code: string, ...fragments: string[]): ProllyError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ProllyError);
  const err = caught as ProllyError;
  expect(err.code).toBe(code);
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

describe('keys we generate', () => {
  it('round-trip through encode/parse and keep every field', () => {
    const key = generateSshKeyPair({ comment: 'alice@example.com' });
    const text = encodeOpenSshPrivateKey(key);
    expect(text.startsWith('-----BEGIN OPENSSH PRIVATE KEY-----\n')).toBe(true);
    expect(text.endsWith('\n-----END OPENSSH PRIVATE KEY-----\n')).toBe(true);
    for (const line of text.split('\n').slice(1, -2)) expect(line.length).toBeLessThanOrEqual(70);
    const back = parseOpenSshPrivateKey(text);
    expect(back).toEqual(key);
    expect(encodeOpenSshPrivateKey(back)).toBe(text);
  });

  it('two generated keys differ', () => {
    const a = generateSshKeyPair();
    const b = generateSshKeyPair();
    expect(Buffer.from(a.seed).equals(Buffer.from(b.seed))).toBe(false);
    expect(sameSshPublicKey(sshPublicKeyOf(a), sshPublicKeyOf(b))).toBe(false);
  });

  it('load in ssh-keygen: `ssh-keygen -y` prints our public key line and `-l` our fingerprint', async () => {
    for (const comment of ['bob@example.com', '', 'a comment with spaces and ünïcode']) {
      const key = generateSshKeyPair({ comment });
      const path = join(dir, `ours-${comment.length}`);
      await writeOpenSshKeyFiles({ path, privateKey: key });
      const y = runOk('ssh-keygen', ['-y', '-f', path], { home: dir });
      const pubLine = formatSshPublicKey(sshPublicKeyOf(key));
      expect(y.stdout.trim()).toBe(pubLine);
      expect(readFileSync(`${path}.pub`, 'utf8')).toBe(pubLine + '\n');
      const l = runOk('ssh-keygen', ['-l', '-f', path], { home: dir });
      expect(l.stdout.split(' ')[1]).toBe(sshFingerprint(sshPublicKeyOf(key)));
      // ssh-keygen rewrites the file with a new passphrase (none) — it must read ours to do that.
      runOk('ssh-keygen', ['-p', '-P', '', '-N', '', '-f', path], { home: dir });
      const rewritten = parseOpenSshPrivateKey(readFileSync(path, 'utf8'), { source: path });
      expect(rewritten.seed).toEqual(key.seed);
      expect(rewritten.comment).toBe(comment);
    }
  });

  it('are written with mode 0600 (ssh refuses wider), atomically, and never silently replace a key', async () => {
    const sub = join(dir, 'write');
    runOk('mkdir', ['-p', sub], { home: dir });
    const path = join(sub, 'signing_key');
    const key = generateSshKeyPair({ comment: 'w' });
    await writeOpenSshKeyFiles({ path, privateKey: key });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}.pub`).mode & 0o777).toBe(0o644);
    expect(readdirSync(sub).sort()).toEqual(['signing_key', 'signing_key.pub']);

    const other = generateSshKeyPair({ comment: 'other' });
    await expect(writeOpenSshKeyFiles({ path, privateKey: other })).rejects.toMatchObject({ code: 'EINVAL' });
    expect((await readOpenSshPrivateKeyFile(path)).seed).toEqual(key.seed);

    await writeOpenSshKeyFiles({ path, privateKey: other, overwrite: true });
    expect((await readOpenSshPrivateKeyFile(path)).seed).toEqual(other.seed);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(sub).sort()).toEqual(['signing_key', 'signing_key.pub']);
  });

  it('a failed write (rename onto a directory) leaves what was there and no temp file behind', async () => {
    const sub = join(dir, 'failwrite');
    const path = join(sub, 'k');
    mkdirSync(join(path, 'inside'), { recursive: true }); // rename(file, non-empty dir) fails, even for root
    await expect(writeOpenSshKeyFiles({ path, privateKey: generateSshKeyPair(), overwrite: true })).rejects.toThrow();
    expect(statSync(path).isDirectory()).toBe(true);
    expect(readdirSync(sub)).toEqual(['k']);
  });
});

describe('keys ssh-keygen generates', () => {
  it('parse, and re-encode to the identical file bytes', () => {
    for (const comment of ['carol@example.com', '', 'x'.repeat(7)]) {
      const path = join(dir, `theirs-${comment.length}`);
      runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { home: dir });
      const text = readFileSync(path, 'utf8');
      const key = parseOpenSshPrivateKey(text, { source: path });
      expect(key.comment).toBe(comment);
      expect(encodeOpenSshPrivateKey(key)).toBe(text);
      const pubFile = readFileSync(`${path}.pub`, 'utf8').trim();
      expect(formatSshPublicKey(sshPublicKeyOf(key))).toBe(pubFile);
      const parsed = parseSshPublicKey(pubFile);
      expect(sameSshPublicKey(parsed, sshPublicKeyOf(key))).toBe(true);
      expect(parsed.comment).toBe(comment || undefined);
      const l = runOk('ssh-keygen', ['-l', '-f', `${path}.pub`], { home: dir });
      expect(l.stdout.split(' ')[1]).toBe(sshFingerprint(parsed));
    }
  });

  it('a passphrase-protected key gives EKEYENCRYPTED with advice, naming the file', async () => {
    const path = join(dir, 'encrypted');
    runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', path], { home: dir });
    const err = expectProllyError(
      () => parseOpenSshPrivateKey(readFileSync(path, 'utf8'), { source: path }),
      'EKEYENCRYPTED',
      path,
      'passphrase',
      'not supported',
      "ssh-keygen -t ed25519 -N ''",
    );
    expect(err.data).toMatchObject({ source: path, cipher: 'aes256-ctr' });
    await expect(readOpenSshPrivateKeyFile(path)).rejects.toMatchObject({ code: 'EKEYENCRYPTED' });
  });

  it('an RSA key is refused with EBADKEY saying only ssh-ed25519 is supported', () => {
    const path = join(dir, 'rsa');
    runOk('ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', path], { home: dir });
    expectProllyError(() => parseOpenSshPrivateKey(readFileSync(path, 'utf8'), { source: path }), 'EBADKEY', path, 'ssh-rsa', 'ssh-ed25519');
  });

  it('a PEM (non-OpenSSH) private key is refused with EBADKEY and a hint', () => {
    const path = join(dir, 'pem');
    runOk('ssh-keygen', ['-q', '-t', 'ecdsa', '-m', 'PEM', '-N', '', '-f', path], { home: dir });
    expectProllyError(() => parseOpenSshPrivateKey(readFileSync(path, 'utf8'), { source: path }), 'EBADKEY', path, 'EC PRIVATE KEY');
  });
});

describe('malformed private keys', () => {
  const good = encodeOpenSshPrivateKey(generateSshKeyPair({ comment: 'm' }));
  const body = () => Buffer.from(good.split('\n').slice(1, -2).join(''), 'base64');
  const armor = (b: Buffer) =>
    `-----BEGIN OPENSSH PRIVATE KEY-----\n${b.toString('base64').replace(/(.{70})/g, '$1\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;

  it('each corruption gives EBADKEY naming the file', () => {
    const cases: Array<[string, string]> = [
      ['empty', ''],
      ['public key line', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkVepwcwHM+KYJKjLLdic0iQPXWN5DxCmOyfpCK+QU8 x'],
      ['no end marker', good.replace('-----END OPENSSH PRIVATE KEY-----', '')],
      ['bad base64', good.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!')],
      ['truncated', armor(body().subarray(0, body().length - 40))],
      ['bad magic', armor(Buffer.concat([Buffer.from('openssh-key-v2\0'), body().subarray(15)]))],
    ];
    // Flip a byte inside the private section's check integers (offset found from the layout).
    const b = body();
    const sectionLenAt = 15 + 8 + 8 + 4 + 4 + 4 + 51; // magic, "none", "none", kdfopts(empty), count, pubblob
    const checkAt = sectionLenAt + 4;
    const flippedCheck = Buffer.from(b);
    flippedCheck[checkAt] ^= 1;
    cases.push(['check ints differ', armor(flippedCheck)]);
    const flippedSeed = Buffer.from(b);
    flippedSeed[checkAt + 8 + 4 + 11 + 4 + 32 + 4 + 3] ^= 1; // a seed byte: no longer matches the public key
    cases.push(['seed does not match public key', armor(flippedSeed)]);
    const flippedPad = Buffer.from(b);
    flippedPad[flippedPad.length - 1] ^= 0x40;
    cases.push(['bad padding', armor(flippedPad)]);
    const expectedDetail: Record<string, string> = {
      empty: 'missing "-----BEGIN OPENSSH PRIVATE KEY-----"',
      'public key line': 'this is a public key line',
      'no end marker': 'incomplete',
      'bad base64': 'not base64',
      truncated: 'truncated',
      'bad magic': 'magic',
      'check ints differ': 'check integers differ',
      'seed does not match public key': 'does not belong to the private key',
      'bad padding': 'bad padding',
    };
    for (const [name, text] of cases) {
      const source = `/keys/${name.replace(/ /g, '_')}`;
      const err = expectProllyError(() => parseOpenSshPrivateKey(text, { source }), 'EBADKEY', source);
      expect(err.message, name).toContain(expectedDetail[name]!);
      expect(err.data.source, name).toBe(source);
    }
  });

  it('a key file with the wrong checkint is also refused by ssh-keygen (our oracle for the layout above)', () => {
    const b = body();
    b[15 + 8 + 8 + 4 + 4 + 4 + 51 + 4] ^= 1;
    const path = join(dir, 'badcheck');
    writeFileSync(path, armor(b), { mode: 0o600 });
    const r = run('ssh-keygen', ['-y', '-f', path], { home: dir });
    expect(r.status).not.toBe(0);
  });

  it('public key lines that are not keys give EBADKEY', () => {
    expect(() => parseSshPublicKey('ssh-ed25519')).toThrow(ProllyError);
    expect(() => parseSshPublicKey('ssh-ed25519 !!!!')).toThrow(/not base64/);
    // type on the line disagrees with the type in the blob
    const pub = formatSshPublicKey(sshPublicKeyOf(generateSshKeyPair()));
    expect(() => parseSshPublicKey(pub.replace('ssh-ed25519', 'ssh-rsa'))).toThrow(/ssh-rsa/);
  });
});
