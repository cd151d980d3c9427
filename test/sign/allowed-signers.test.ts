import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProllyError } from '../../src/errors.js';
import {
  findAllowedPrincipals,
  formatAllowedSignersLine,
  isAllowedSigner,
  matchPatternList,
  parseAllowedSigners,
  readAllowedSignersFile,
} from '../../src/sign/allowed-signers.js';
import { formatSshPublicKey, generateSshKeyPair, sshPublicKeyOf, type SshEd25519PrivateKey } from '../../src/sign/ssh-key.js';
import { signSshsig } from '../../src/sign/sshsig.js';
import { makeTempDir, run } from './helpers.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = makeTempDir());
});
afterAll(() => cleanup());

const keys: Record<string, SshEd25519PrivateKey> = Object.fromEntries(
  ['A', 'B', 'C', 'D', 'E', 'F', 'G'].map((n) => [n, generateSshKeyPair({ comment: `key ${n}` })]),
);
const pub = (n: string) => sshPublicKeyOf(keys[n]!);
const line = (n: string) => formatSshPublicKey(pub(n));

/** A file exercising every feature; times are far from "now" and from the probe times below. */
function sampleFile(): string {
  return [
    '# team signers',
    '',
    `alice@example.com namespaces="git" ${line('A')}`,
    `   "bob@example.com,*@team.example" ${line('B')}`,
    `carol@example.com NAMESPACES="file,gi?",valid-after="20200101",valid-before="20300101Z" ${line('C')}`,
    `dave@example.com cert-authority ${line('D')}`,
    `old@example.com valid-before="20000101" ${line('E')}`,
    `new@example.com valid-after="20990101120000" ${line('E')}`,
    `*@wild.example,!evil@wild.example namespaces="git" ${line('F')}`,
    `alice@example.com namespaces="file" ${line('G')}\r`,
  ].join('\n');
}

describe('parseAllowedSigners', () => {
  it('reads principals, options, keys and line numbers; skips comments and blank lines', () => {
    const s = parseAllowedSigners(sampleFile(), { source: 'sample' });
    expect(s.entries.map((e) => e.line)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(s.entries[0]).toMatchObject({ principals: ['alice@example.com'], namespaces: ['git'], certAuthority: false });
    expect(s.entries[1]!.principals).toEqual(['bob@example.com', '*@team.example']);
    expect(s.entries[1]!.publicKey.comment).toBe('key B');
    expect(s.entries[2]).toMatchObject({ namespaces: ['file', 'gi?'], validBefore: Date.UTC(2030, 0, 1) / 1000 });
    expect(s.entries[2]!.validAfter).toBe(new Date(2020, 0, 1).getTime() / 1000);
    expect(s.entries[3]!.certAuthority).toBe(true);
    expect(s.entries[5]!.validAfter).toBe(new Date(2099, 0, 1, 12, 0, 0).getTime() / 1000);
    expect(s.entries[7]!.publicKey.blob).toEqual(pub('G').blob); // the trailing CR did not stick to the key
  });

  it('bad lines fail with EALLOWEDSIGNERS naming the file and line', () => {
    const bad: Array<[string, RegExp]> = [
      [`x@y unknown-opt ${line('A')}`, /unknown option/],
      [`x@y namespaces=git ${line('A')}`, /missing start quote/],
      [`x@y namespaces="git ${line('A')}`, /missing end quote|missing key/],
      [`x@y valid-after="2020" ${line('A')}`, /invalid "valid-after"/],
      [`x@y valid-after="20250101",valid-before="20200101" ${line('A')}`, /not after/],
      [`x@y namespaces="a",namespaces="b" ${line('A')}`, /multiple/],
      [`x@y namespaces="git",`, /end of options|missing key/],
      ['x@y', /expected/],
      ['x@y ssh-ed25519 AAAA!!!!', /invalid key/],
      [`x@y ssh-rsa ${line('A').split(' ')[1]}`, /invalid key/],
    ];
    for (const [text, why] of bad) {
      let err: unknown;
      try {
        parseAllowedSigners(`# ok\n${line('A').replace('ssh-ed25519', 'ok@x ssh-ed25519')}\n${text}\n`, { source: '/etc/signers' });
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(ProllyError);
      expect((err as ProllyError).code).toBe('EALLOWEDSIGNERS');
      expect((err as ProllyError).message, text).toMatch(/^\/etc\/signers:3: /);
      expect((err as ProllyError).message, text).toMatch(why);
    }
  });

  it('reads a file and names it in errors', async () => {
    const p = join(dir, 'broken_signers');
    writeFileSync(p, `a@b bogus ${line('A')}\n`);
    await expect(readAllowedSignersFile(p)).rejects.toThrow(`${p}:1:`);
  });
});

describe('pattern lists (OpenSSH match_pattern_list)', () => {
  it('wildcards, negation, no implicit trimming', () => {
    expect(matchPatternList('me@example.com', ['*@example.com'])).toBe(1);
    expect(matchPatternList('me@example.com', ['m?@example.com'])).toBe(1);
    expect(matchPatternList('me@example.com', ['mee@example.com'])).toBe(0);
    expect(matchPatternList('evil@x', ['*@x', '!evil@x'])).toBe(-1);
    expect(matchPatternList('good@x', ['*@x', '!evil@x'])).toBe(1);
    expect(matchPatternList('a.b', ['a?b'])).toBe(1);
    expect(matchPatternList('axb', ['a.b'])).toBe(0); // '.' is literal
    expect(matchPatternList('a', [' a'])).toBe(0);
  });
});

describe('lookups', () => {
  const signers = () => parseAllowedSigners(sampleFile(), { source: 'sample' });
  const at2025 = Date.UTC(2025, 5, 1) / 1000;

  it('findAllowedPrincipals lists principals for a key in a namespace, with notes for refusals', () => {
    expect(findAllowedPrincipals({ allowedSigners: signers(), publicKey: pub('A'), namespace: 'git' }).principals).toEqual(['alice@example.com']);
    expect(findAllowedPrincipals({ allowedSigners: signers(), publicKey: pub('A'), namespace: 'file' }).principals).toEqual([]);
    expect(findAllowedPrincipals({ allowedSigners: signers(), publicKey: pub('B'), namespace: 'anything' }).principals).toEqual([
      'bob@example.com',
      '*@team.example',
    ]);
    expect(findAllowedPrincipals({ allowedSigners: signers(), publicKey: pub('F'), namespace: 'git' }).principals).toEqual(['*@wild.example']);
    const ca = findAllowedPrincipals({ allowedSigners: signers(), publicKey: pub('D'), namespace: 'git' });
    expect(ca.principals).toEqual([]);
    expect(ca.notes.join()).toMatch(/cert-authority/);
    const expired = findAllowedPrincipals({ allowedSigners: signers(), publicKey: pub('E'), namespace: 'git', at: at2025 });
    expect(expired.principals).toEqual([]);
    expect(expired.notes.join()).toMatch(/expired/);
    expect(expired.notes.join()).toMatch(/not yet valid/);
    expect(findAllowedPrincipals({ allowedSigners: signers(), publicKey: pub('E'), namespace: 'git', at: new Date(1999, 0, 1) }).principals).toEqual([
      'old@example.com',
    ]);
    expect(findAllowedPrincipals({ allowedSigners: signers(), publicKey: sshPublicKeyOf(generateSshKeyPair()), namespace: 'git' }).principals).toEqual([]);
  });

  it('formatAllowedSignersLine round-trips and refuses principals that cannot be written', () => {
    const text = formatAllowedSignersLine({ principal: 'ci@example.com', publicKey: pub('A') });
    expect(text).toBe(`ci@example.com namespaces="git" ${line('A').split(' ').slice(0, 2).join(' ')}`);
    const parsed = parseAllowedSigners(text);
    expect(isAllowedSigner({ allowedSigners: parsed, principal: 'ci@example.com', publicKey: pub('A'), namespace: 'git' }).allowed).toBe(true);
    expect(isAllowedSigner({ allowedSigners: parsed, principal: 'ci@example.com', publicKey: pub('A'), namespace: 'file' }).allowed).toBe(false);
    expect(formatAllowedSignersLine({ principal: ['a@x', 'b@x'], publicKey: pub('A'), namespaces: [] })).toMatch(/^a@x,b@x ssh-ed25519 /);
    for (const badPrincipal of ['', 'has space', 'a,b', 'q"uote', '#hash']) {
      expect(() => formatAllowedSignersLine({ principal: badPrincipal, publicKey: pub('A') })).toThrow(/principal/);
    }
  });

  it('agrees with ssh-keygen -Y verify on every (principal, key, namespace, time) in the sample file', () => {
    const file = join(dir, 'allowed_signers');
    writeFileSync(file, sampleFile());
    const allowedSigners = parseAllowedSigners(sampleFile(), { source: file });
    const principals = ['alice@example.com', 'bob@example.com', 'x@team.example', 'carol@example.com', 'dave@example.com', 'old@example.com', 'new@example.com', 'a@wild.example', 'evil@wild.example', 'nobody@example.com'];
    const times: Array<[string, number]> = [
      ['19990601Z', Date.UTC(1999, 5, 1) / 1000],
      ['20250601Z', Date.UTC(2025, 5, 1) / 1000],
      ['21000601Z', Date.UTC(2100, 5, 1) / 1000],
    ];
    let agreeTrue = 0;
    let compared = 0;
    for (const keyName of Object.keys(keys)) {
      for (const namespace of ['git', 'file']) {
        const sigPath = join(dir, `sig-${keyName}-${namespace}`);
        writeFileSync(sigPath, signSshsig({ privateKey: keys[keyName]!, namespace, message: 'm' }));
        for (const principal of principals) {
          // Only keys C and E have validity windows; the others are probed at one time to keep this quick.
          for (const [stamp, seconds] of keyName === 'C' || keyName === 'E' ? times : times.slice(1, 2)) {
            const oracle = run('ssh-keygen', ['-Y', 'verify', '-f', file, '-I', principal, '-n', namespace, '-s', sigPath, `-Overify-time=${stamp}`], {
              home: dir,
              input: 'm',
            });
            const ours = isAllowedSigner({ allowedSigners, principal, publicKey: pub(keyName), namespace, at: seconds });
            expect(ours.allowed, `${keyName} ${namespace} ${principal} ${stamp}: ${ours.reason} / ${oracle.stderr}`).toBe(oracle.status === 0);
            compared++;
            if (ours.allowed) agreeTrue++;
          }
        }
      }
    }
    // The matrix must contain both outcomes for the agreement to mean anything.
    expect(compared).toBe(5 * 2 * 10 + 2 * 2 * 10 * 3);
    expect(agreeTrue).toBeGreaterThan(8);
    expect(agreeTrue).toBeLessThan(compared / 2);
  });
});
