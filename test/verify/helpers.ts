/**
 * Helpers for the tamper-evidence tests: throwaway repositories set up to sign with a key made by
 * `git prolly keygen`, editing `.prolly/config.toml`, reading commits and proofs, and finding a
 * stored node's bytes in the local pack files to corrupt them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRepo, type TestRepo } from '../cli/helpers.js';

/** A test repository that signs its commits, with the key and the allowed-signers file. */
export interface SigningRepo extends TestRepo {
  key: string;
  signers: string;
  /** Edit .prolly/config.toml with a function of its text. */
  config(edit: (text: string) => string): void;
  head(rev?: string): string;
  /** `git prolly verify … --json`, parsed, with the exit code. */
  verifyJson(args?: string[]): { code: number | null; report: VerifyJson };
}

export interface VerifyJson {
  ok: boolean;
  problems: { check: string; commit?: string; dataset?: string; chunk?: string; message: string }[];
  commits: { commit: string; signature: { status: string }; chunks: number; datasets: string[] }[];
  totals: Record<string, number>;
  notes: string[];
}

/**
 * A repository with git-prolly set up, a signing key (~/key, made with keygen) in
 * .prolly/allowed_signers, and `[security] sign_commits = true` unless `sign` is false.
 * @example const r = signingRepo(); r.ok(['put', 'ds', 'k', 'v']); r.ok(['commit', '-m', 'm']);
 */
export function signingRepo(options: { sign?: boolean; compression?: 'none' | 'zstd' } = {}): SigningRepo {
  const base = makeRepo({ init: true });
  const key = join(base.home, 'key');
  base.ok(['keygen', '--out', key, '--allowed-signers', '.prolly/allowed_signers']);
  const repo = base as SigningRepo;
  repo.key = key;
  repo.signers = join(base.dir, '.prolly', 'allowed_signers');
  repo.config = (edit) => {
    const file = join(base.dir, '.prolly', 'config.toml');
    writeFileSync(file, edit(readFileSync(file, 'utf8')));
  };
  repo.head = (rev = 'HEAD') => base.gitOk(['rev-parse', rev]).trim();
  repo.verifyJson = (args = []) => {
    const r = base.prolly(['verify', '--json', ...args]);
    if (r.code === 2 || !r.stdout.trim()) throw new Error(`verify could not run (exit ${r.code}): ${r.stderr}`);
    return { code: r.code, report: JSON.parse(r.stdout) as VerifyJson };
  };
  repo.config((t) =>
    t
      .replace(/^sign_commits = false.*$/m, `sign_commits = ${options.sign !== false}\nsigning_key = "${key}"\nallowed_signers = ".prolly/allowed_signers"`)
      .replace(/^type = "zstd"$/m, `type = "${options.compression ?? 'zstd'}"`),
  );
  base.gitOk(['config', 'gpg.ssh.allowedSignersFile', repo.signers]);
  return repo;
}

/** SHA-256 hex. */
export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The node bytes of a key proof's path (root first), from `git prolly proof --no-anchor`. */
export function proofPath(repo: TestRepo, dataset: string, key: string, at = 'HEAD'): Uint8Array[] {
  const proof = JSON.parse(repo.ok(['proof', dataset, key, '--at', at, '--no-anchor'])) as { path: string[] };
  return proof.path.map((b64) => new Uint8Array(Buffer.from(b64, 'base64')));
}

/**
 * Flip one byte of `needle` where it is stored in the local store's pack files (stored raw, i.e.
 * with `[compression] type = "none"`). Returns the pack file changed.
 */
export function corruptStoredChunk(repo: TestRepo, needle: Uint8Array, offsetInChunk: number): string {
  const store = join(repo.dir, '.git', 'prolly', 'store');
  for (const name of readdirSync(store).filter((n) => n.endsWith('.pack'))) {
    const file = join(store, name);
    const bytes = readFileSync(file);
    const at = bytes.indexOf(Buffer.from(needle));
    if (at < 0) continue;
    bytes[at + offsetInChunk]! ^= 0x20;
    writeFileSync(file, bytes);
    return file;
  }
  throw new Error(`chunk ${sha256Hex(needle)} not found raw in ${store} (is compression off?)`);
}

/** The raw text of a git commit object. */
export function catCommit(repo: TestRepo, rev: string): string {
  return repo.gitOk(['cat-file', 'commit', rev]);
}

/** Split a signed commit like git: [payload without the gpgsig header, armored signature]. */
export function splitGpgsig(commitText: string): [payload: string, signature: string] {
  const lines = commitText.split('\n');
  const payload: string[] = [];
  const sig: string[] = [];
  let inSig = false;
  let inHeaders = true;
  for (const line of lines) {
    if (inHeaders && line === '') inHeaders = false;
    if (inHeaders && line.startsWith('gpgsig ')) {
      inSig = true;
      sig.push(line.slice(7));
    } else if (inHeaders && inSig && line.startsWith(' ')) {
      sig.push(line.slice(1));
    } else {
      inSig = false;
      payload.push(line);
    }
  }
  return [payload.join('\n'), sig.join('\n') + '\n'];
}

/** True when the directory exists and holds files with this extension. */
export function hasFiles(dir: string, ext: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((n) => n.endsWith(ext));
}
