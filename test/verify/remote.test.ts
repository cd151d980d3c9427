/**
 * `git prolly verify --remote NAME` against real tiers (a shared directory, s3rver, the IPFS node): a
 * pushed history checks out without downloading chunks (pack index + stored checksums, or the pin set),
 * chunks a commit added but nobody pushed are named with that commit, and a pack deleted from the
 * remote is found. `--deep` covers blob chunks too. Push also leaves an audit entry.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt } from '../cli/helpers.js';
import { ipfsNode, ipfsSkipReason } from '../setup/servers.js';
import { listKeys, newBucket, S3_ENV } from '../tiers-integration/helpers.js';
import { proofPath, sha256Hex, signingRepo, type SigningRepo } from './helpers.js';

beforeAll(ensureBuilt, 300_000);

interface Backend {
  name: string;
  skip?: string;
  /** `git prolly remote add` arguments, set up once. */
  setup(): Promise<{ args: string[]; deletePack?: () => Promise<string>; cleanup?: () => void }>;
}

const backends: Backend[] = [
  {
    name: 'directory',
    async setup() {
      const dir = mkdtempSync(join(tmpdir(), 'prolly-verify-share-'));
      return {
        args: [dir],
        async deletePack() {
          const packs = readdirSync(join(dir, 'packs')).filter((n) => n.endsWith('.pack'));
          unlinkSync(join(dir, 'packs', packs[0]!));
          return packs[0]!;
        },
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 's3',
    async setup() {
      const { endpoint, bucket, client } = await newBucket();
      return {
        args: [`s3://${bucket}/v`, '--endpoint', endpoint],
        async deletePack() {
          const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
          const key = (await listKeys(client, bucket, 'v/packs/')).find((k) => k.endsWith('.pack'))!;
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
          return key.split('/').pop()!;
        },
      };
    },
  },
  {
    name: 'ipfs',
    skip: ipfsSkipReason(),
    async setup() {
      const node = await ipfsNode();
      return { args: [node.apiUrl, '--type', 'ipfs'] };
    },
  },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`verify --remote on ${backend.name}`, () => {
    let r: SigningRepo;
    let remote: Awaited<ReturnType<Backend['setup']>>;
    beforeAll(async () => {
      r = signingRepo();
      Object.assign(r.env, S3_ENV);
      remote = await backend.setup();
      let csv = 'id,name\n';
      for (let i = 0; i < 3000; i++) csv += `u${String(i).padStart(5, '0')},user ${i} ${'-'.repeat(i % 30)}\n`;
      writeFileSync(join(r.home, 'users.csv'), csv);
      r.ok(['import', 'users', join(r.home, 'users.csv'), '--key', 'id']);
      // A value large enough to be a blob of several chunks, for --deep.
      writeFileSync(join(r.home, 'photo.bin'), randomBytes(300_000));
      r.ok(['put', 'files', 'photo', '--file', join(r.home, 'photo.bin')]);
      r.ok(['remote', 'add', 'far', ...remote.args]);
      r.ok(['commit', '-m', 'users and a photo']);
      r.ok(['push', 'far']);
    }, 120_000);
    afterAll(() => {
      r?.cleanup();
      remote?.cleanup?.();
    });

    test('a pushed history checks out against the remote without downloading chunks; push left an audit entry', () => {
      const { code, report } = r.verifyJson(['--remote', 'far', '--deep']);
      expect(report.problems).toEqual([]);
      expect(code).toBe(0);
      expect(report.totals.remoteChecked).toBe(report.totals.nodes + report.totals.blobChunks);
      expect(report.totals.blobChunks).toBeGreaterThan(3);
      expect(report.totals.remoteDownloaded).toBe(0);
      const audit = JSON.parse(r.ok(['audit', '--json', '-n', '1'])) as { entry: { op: string; details: { chunksSent: number } } }[];
      expect(audit[0]!.entry.op).toBe('push');
      expect(audit[0]!.entry.details.chunksSent).toBeGreaterThan(0);
    });

    test('chunks a commit added but nobody pushed are named with that commit', () => {
      r.ok(['put', 'users', 'u01500', '{"moved":true}']);
      r.ok(['commit', '-m', 'not pushed']);
      const newLeaf = sha256Hex(proofPath(r, 'users', 'u01500').at(-1)!);
      const { code, report } = r.verifyJson(['--remote', 'far']);
      expect(code).toBe(1);
      expect(report.problems.length).toBeGreaterThan(0);
      for (const p of report.problems) expect(p).toMatchObject({ check: 'remote-missing', commit: r.head(), dataset: 'users' });
      expect(report.problems.map((p) => p.chunk)).toContain(newLeaf);
      r.ok(['push', 'far']);
      expect(r.verifyJson(['--remote', 'far']).code).toBe(0);
    });

    test.skipIf(backend.name === 'ipfs')('a pack deleted from the remote: every chunk it held is reported', async () => {
      const pack = await remote.deletePack!();
      const { code, report } = r.verifyJson(['--remote', 'far', '--deep']);
      expect(code).toBe(1);
      expect(report.problems.length).toBeGreaterThan(0);
      for (const p of report.problems) {
        expect(p.check).toBe('remote-missing');
        expect(p.message).toContain(`packs/${pack}`);
        expect(p.commit).toMatch(/^[0-9a-f]{40}$/);
        expect(['users', 'files']).toContain(p.dataset);
      }
      // The local copy is intact: without --remote the history verifies.
      expect(r.verifyJson(['--deep']).code).toBe(0);
    });
  });
}
