/**
 * A real S3 REST server (s3rver) on a free loopback port with its files in a temp dir, plus the
 * helpers tests need around it: a client with the checksum settings TESTING.md requires, a fresh
 * bucket per test, and an HTTP request counter.
 */
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// s3rver ships no types.
// @ts-expect-error untyped CommonJS module
import S3rver from 's3rver';
import { createS3Client } from '../../src/store/backends/s3-backend.js';

/** s3rver's fixed credentials; the SDK picks them up from the environment like real ones. */
export const S3RVER_ACCESS_KEY = 'S3RVER';

export interface RunningS3rver {
  endpoint: string;
  directory: string;
  /** Close the server but keep its files (to restart it on the same port and directory). */
  halt(): Promise<void>;
  /** Close the server and delete its files (if it created the directory). */
  stop(): Promise<void>;
}

/**
 * Start s3rver on port 0 (or `port`, to restart one on the same address after a stop).
 * @example const s3 = await startS3rver(); …; await s3.stop();
 */
export async function startS3rver(opts: { port?: number; directory?: string } = {}): Promise<RunningS3rver> {
  const directory = opts.directory ?? (await mkdtemp(join(tmpdir(), 'prolly-s3rver-')));
  const ownsDir = !opts.directory;
  const server = new S3rver({ port: opts.port ?? 0, address: '127.0.0.1', silent: true, directory });
  const info = (await server.run()) as AddressInfo;
  let halted: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;
  const halt = () => (halted ??= Promise.resolve(server.close()).then(() => undefined));
  return {
    endpoint: `http://127.0.0.1:${info.port}`,
    directory,
    halt,
    stop: () =>
      (stopped ??= (async () => {
        await halt();
        if (ownsDir) await rm(directory, { recursive: true, force: true });
      })()),
  };
}

/** Point the AWS credential chain at s3rver's keys (tests only; real runs use real credentials). */
export function useS3rverCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = S3RVER_ACCESS_KEY;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_ACCESS_KEY;
  process.env.AWS_REGION ??= 'us-east-1';
}

/** HTTP requests a client sent, by method ("PUT", "GET", …) and in total. */
export interface RequestCounter {
  byMethod: Record<string, number>;
  total: number;
  bytesUp: number;
  reset(): void;
}

/**
 * A client for s3rver whose every HTTP request is counted (at the SDK's finalize step, i.e. what
 * goes on the wire).
 * @example const { client, counter } = s3rverClient(endpoint); … counter.byMethod.PUT
 */
export function s3rverClient(endpoint: string): { client: S3Client; counter: RequestCounter } {
  useS3rverCredentials();
  const client = createS3Client({ endpoint, region: 'us-east-1' });
  const counter: RequestCounter = {
    byMethod: {},
    total: 0,
    bytesUp: 0,
    reset() {
      this.byMethod = {};
      this.total = 0;
      this.bytesUp = 0;
    },
  };
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { method?: string; body?: unknown };
      const method = req.method ?? '?';
      counter.byMethod[method] = (counter.byMethod[method] ?? 0) + 1;
      counter.total++;
      if (req.body instanceof Uint8Array) counter.bytesUp += req.body.length;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'prollyTestRequestCounter' },
  );
  return { client, counter };
}

/**
 * Create a bucket with a fresh random name (valid S3 name) and return the name.
 * @example const bucket = await createTestBucket(client);
 */
export async function createTestBucket(client: S3Client, label = 't'): Promise<string> {
  const bucket = `${label}-${randomBytes(6).toString('hex')}`.toLowerCase();
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}
