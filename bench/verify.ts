/**
 * Tamper-evidence figures (issue 5), written to bench/results/verify.json by `npm run bench:verify`:
 *
 * - proof_gen_ms / proof_verify_ms / proof_bytes: key proofs on a 1M-entry tree (100-byte values),
 *   median generation and verification time; proof_bytes is the LARGEST proof seen (JSON text) over
 *   the sampled keys, proof_bytes_median the typical one. Targets: ≤ 1 ms, ≤ 1 ms, ≤ 32768.
 * - proof_anchored_bytes_max / proof_anchored_gen_ms: the same with the git-commit anchor, from a real
 *   repository holding the 1M-row dataset.
 * - verify_100_commits_s: `git prolly verify --from <import> --require-signatures` (the real CLI, end to
 *   end) over 100 signed commits that each change 100 rows of the 1M-row dataset. Target ≤ 10 s.
 *   verify_full_s: the same from the root (the whole 1M-row tree once, then the 100 commits).
 * - sign_commits_per_s: SSHSIG commit signatures per second (payload of a typical commit); target ≥ 1000.
 *   signed_commits_per_s: whole signed `repo.commit()` calls per second, for context.
 *
 * @example const figures = await benchVerify({ rows: 1_000_000 });
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initRepo, openRepo } from '../src/index.js';
import { proveDataset } from '../src/proof/repo-proof.js';
import { verifyProof } from '../src/proof/verify.js';
import { benchCommitSigning } from '../src/sign/bench-signing.js';
import { formatAllowedSignersLine, generateSshKeyPair, sshPublicKeyOf, writeOpenSshKeyFiles } from '../src/sign/index.js';
import { utf8 } from '../src/util/bytes.js';
import { benchGitEnv, median, now, projectRoot, writeResults } from './common.js';
import { benchProof, buildBenchTree } from './proof.js';

export interface VerifyBenchResult {
  proof_gen_ms: number;
  proof_verify_ms: number;
  proof_bytes: number;
  proof_bytes_median: number;
  proof_anchored_gen_ms: number;
  proof_anchored_bytes_max: number;
  verify_100_commits_s: number;
  verify_100_commits_nodes: number;
  verify_full_s: number;
  verify_full_nodes: number;
  sign_commits_per_s: number;
  signature_verifications_per_s: number;
  signed_commits_per_s: number;
  rows: number;
  commits: number;
  rows_per_commit: number;
}

const keyOf = (i: number) => `row-${String(i).padStart(8, '0')}`;

/** A deterministic ~100-byte row value. */
function rowValue(i: number, version: number): string {
  return JSON.stringify({ id: i, v: version, name: `name ${(i * 2654435761) % 1000003}`, pad: 'x'.repeat(40 + (i % 17)) });
}

/**
 * Run the benchmark; `rows` (default 1,000,000) sizes both the proof tree and the repository dataset.
 * @example console.log(await benchVerify({ rows: 100_000 }));
 */
export async function benchVerify(options: { rows?: number; commits?: number; rowsPerCommit?: number } = {}): Promise<VerifyBenchResult> {
  const rows = options.rows ?? 1_000_000;
  const commits = options.commits ?? 100;
  const perCommit = options.rowsPerCommit ?? 100;

  // Proofs on the standard 1M-entry tree (in memory: what is measured is proof work, not I/O).
  const proof = await benchProof(await buildBenchTree(rows), { samples: 300 });

  // Signing throughput.
  const signing = benchCommitSigning({ durationMs: 1000 });

  const root = mkdtempSync(join(tmpdir(), 'prolly-bench-verify-'));
  const dir = join(root, 'repo');
  const home = join(root, 'home');
  mkdirSync(dir);
  mkdirSync(home);
  const env = benchGitEnv(home);
  const saved = { ...process.env };
  Object.assign(process.env, { GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.org', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.org' });
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: dir, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const bin = join(projectRoot, 'bin', 'git-prolly');
  const prolly = (...args: string[]) => {
    const t0 = now();
    const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, encoding: 'utf8', maxBuffer: 256 << 20 });
    const ms = now() - t0;
    if (r.status !== 0) throw new Error(`git-prolly ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout.slice(0, 2000)}`);
    return { ms, stdout: r.stdout };
  };

  try {
    git('init', '-q', '-b', 'main');
    git('commit', '-q', '--allow-empty', '-m', 'initial');
    await initRepo({ dir });
    const key = generateSshKeyPair({ comment: 'bench@example.org' });
    const keyPath = join(home, 'signing_key');
    await writeOpenSshKeyFiles({ path: keyPath, privateKey: key });
    writeFileSync(join(dir, '.prolly', 'allowed_signers'), formatAllowedSignersLine({ principal: 'bench@example.org', publicKey: sshPublicKeyOf(key) }) + '\n');
    const configFile = join(dir, '.prolly', 'config.toml');
    writeFileSync(
      configFile,
      readFileSync(configFile, 'utf8').replace(/^sign_commits = false$/m, `sign_commits = true\nsigning_key = "${keyPath}"\nallowed_signers = ".prolly/allowed_signers"`),
    );

    let signedCommitMs: number[] = [];
    let importCommit: string;
    const repo = await openRepo({ dir });
    try {
      const ds = repo.dataset('rows');
      await ds.putMany((function* () {
        for (let i = 0; i < rows; i++) yield [keyOf(i), rowValue(i, 0)] as [string, string];
      })());
      importCommit = (await repo.commit({ message: `import ${rows} rows` })).oid!;
      for (let c = 1; c <= commits; c++) {
        const edits: [string, string][] = [];
        for (let j = 0; j < perCommit; j++) {
          const i = (c * 7919 + j * 104_729) % rows;
          edits.push([keyOf(i), rowValue(i, c)]);
        }
        await ds.putMany(edits);
        const t0 = now();
        await repo.commit({ message: `change ${perCommit} rows (${c})` });
        signedCommitMs.push(now() - t0);
      }
    } finally {
      await repo.close();
    }

    // Anchored proofs from the repository (git objects included).
    const anchoredSizes: number[] = [];
    const anchoredGen: number[] = [];
    const proofRepo = await openRepo({ dir });
    try {
      for (let s = 0; s < 50; s++) {
        const i = (s * 19_997) % rows;
        const t0 = now();
        const p = await proveDataset(proofRepo, { dataset: 'rows', key: utf8(keyOf(i)) });
        anchoredGen.push(now() - t0);
        if (!verifyProof(p, { commit: p.anchor!.commit }).valid) throw new Error('an anchored proof failed to verify');
        anchoredSizes.push(Buffer.byteLength(JSON.stringify(p)));
      }
    } finally {
      await proofRepo.close();
    }

    const incremental = prolly('verify', '--from', importCommit, '--require-signatures', '--json');
    const inc = JSON.parse(incremental.stdout) as { ok: boolean; totals: { commits: number; nodes: number } };
    if (!inc.ok || inc.totals.commits !== commits) throw new Error(`verify of ${commits} commits: ${incremental.stdout.slice(0, 2000)}`);
    const full = prolly('verify', '--json');
    const fullReport = JSON.parse(full.stdout) as { ok: boolean; totals: { nodes: number } };
    if (!fullReport.ok) throw new Error(`full verify found problems: ${full.stdout.slice(0, 2000)}`);

    signedCommitMs = signedCommitMs.slice(5);
    return {
      proof_gen_ms: proof.proof_gen_ms,
      proof_verify_ms: proof.proof_verify_ms,
      proof_bytes: proof.proof_bytes_max,
      proof_bytes_median: proof.proof_bytes,
      proof_anchored_gen_ms: median(anchoredGen),
      proof_anchored_bytes_max: Math.max(...anchoredSizes),
      verify_100_commits_s: incremental.ms / 1000,
      verify_100_commits_nodes: inc.totals.nodes,
      verify_full_s: full.ms / 1000,
      verify_full_nodes: fullReport.totals.nodes,
      sign_commits_per_s: signing.signaturesPerSecond,
      signature_verifications_per_s: signing.verificationsPerSecond,
      signed_commits_per_s: 1000 / median(signedCommitMs),
      rows,
      commits,
      rows_per_commit: perCommit,
    };
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = process.env.BENCH_VERIFY_ROWS ? Number(process.env.BENCH_VERIFY_ROWS) : undefined;
  writeResults('verify', { ...(await benchVerify({ rows })) });
}
