/**
 * Helpers for the storage-tier integration tests: repositories driven through the real CLI (built
 * by test/cli/helpers.ts), clones of them, S3 buckets on the shared s3rver, and CSV data.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createTestBucket, s3rverClient, useS3rverCredentials } from '../setup/s3rver.js';
import { s3Endpoint } from '../setup/servers.js';
import { ensureBuilt, makeRepo, repoAt, type TestRepo } from '../cli/helpers.js';

export { ensureBuilt, makeRepo, repoAt, type TestRepo };

/** Credentials the SDK reads from the environment (s3rver's fixed keys). */
export const S3_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
};

let clones = 0;
/**
 * `git clone` of `from` (a work tree or bare repository) next to it; cleaned up with the origin.
 * @example const clone = cloneOf(origin, origin.dir)
 */
export function cloneOf(owner: TestRepo, from: string = owner.dir): TestRepo {
  const dir = join(dirname(owner.dir), `clone-${process.pid}-${++clones}`);
  const r = spawnSync('git', ['clone', '-q', from, dir], { env: owner.env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git clone failed: ${r.stderr}`);
  return repoAt(dir, owner.env);
}

/**
 * A bare repository next to `owner` to `git push` to.
 * @example const bare = bareRepo(origin); origin.gitOk(['remote', 'add', 'origin', bare])
 */
export function bareRepo(owner: TestRepo): string {
  const dir = join(dirname(owner.dir), `bare-${process.pid}-${++clones}.git`);
  const r = spawnSync('git', ['init', '-q', '--bare', '-b', 'main', dir], { env: owner.env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git init --bare failed: ${r.stderr}`);
  return dir;
}

/**
 * A repository with `git prolly init` done and s3rver credentials in its environment.
 * @example const repo = await tierRepo();
 */
export async function tierRepo(): Promise<TestRepo> {
  await ensureBuilt();
  const repo = makeRepo({ init: true });
  Object.assign(repo.env, S3_ENV);
  return repo;
}

/**
 * A fresh bucket on the shared s3rver, and a client counting its requests.
 * @example const { endpoint, bucket } = await newBucket();
 */
export async function newBucket() {
  useS3rverCredentials();
  const endpoint = await s3Endpoint();
  const { client, counter } = s3rverClient(endpoint);
  const bucket = await createTestBucket(client, 'tiers');
  return { endpoint, bucket, client, counter };
}

/**
 * Write a CSV of `rows` rows (id,name,score) whose values depend on `seed`; returns its path.
 * @example const file = writeCsv(repo, 'users.csv', 5000, 1)
 */
export function writeCsv(repo: TestRepo, name: string, rows: number, seed = 1, from = 0): string {
  const dir = join(dirname(repo.dir), 'data');
  mkdirSync(dir, { recursive: true });
  const lines = ['id,name,score'];
  for (let i = from; i < from + rows; i++) lines.push(`${String(i).padStart(8, '0')},name-${i}-${(i * 2654435761 + seed) % 1000003},${(i * 31 + seed * 7) % 100000}`);
  const file = join(dir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Objects under a prefix of a bucket, by listing with the SDK. */
export async function listKeys(client: import('@aws-sdk/client-s3').S3Client, bucket: string, prefix: string): Promise<string[]> {
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const out: string[] = [];
  let token: string | undefined;
  // The test client does not retry; s3rver closes idle keep-alive sockets, so retry once here.
  const send = (cmd: InstanceType<typeof ListObjectsV2Command>) => client.send(cmd).catch(() => client.send(cmd));
  do {
    const page = await send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

/** JSON output of a command. */
export function json<T = Record<string, unknown>>(text: string): T {
  return JSON.parse(text) as T;
}

/**
 * `git prolly <args>` without blocking this process — needed when the server the command talks to
 * runs in this test process (a dedicated s3rver, a proxy), which spawnSync would freeze.
 * @example const r = await prollyAsync(repo, ['push']);
 */
export function prollyAsync(repo: TestRepo, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['prolly', ...args], { cwd: repo.dir, env: repo.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Like prollyAsync, but throws with the output unless the exit code is 0. */
export async function okAsync(repo: TestRepo, args: string[]): Promise<string> {
  const r = await prollyAsync(repo, args);
  if (r.code !== 0) throw new Error(`git prolly ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}
