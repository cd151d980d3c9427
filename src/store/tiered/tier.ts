/**
 * One configured remote backend ([[storage.backends]] entry) as a chunk store: a shared directory or
 * S3 bucket gets packs (PackStore) whose chunks are zstd-compressed in blocks of many chunks when
 * [compression] says so (one zstd call per ~128 KiB instead of one per chunk), an IPFS node gets
 * raw blocks (its CIDs are hashes of the stored bytes, so it stores canonical chunks). Every tier
 * verifies what it returns, so a replica serving bad bytes is caught in the placement layer and the
 * read fails over to another.
 *
 * The client libraries (AWS SDK, Kubo RPC client) are loaded when a tier is first used, so commands
 * that never leave the local store do not pay for them.
 */
import { isAbsolute, join, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { BackendConfig, ProllyConfig } from '../../config/config.js';
import { ErrorCodes, ProllyError } from '../../errors.js';
import type { IpfsRpcClient, IpfsStore } from '../backends/ipfs-store.js';
import type { ObjectBackend } from '../backends/object-backend.js';
import type { RetryPolicy } from '../backends/retry.js';
import type { Chunk, ChunkStore } from '../chunk-store.js';
import { CompressingStore, STORED_ZSTD } from '../compressing-store.js';
import type { PackStore } from '../pack/pack-store.js';
import { VerifyingStore } from '../verifying-store.js';
import { TierHealth } from './health.js';

/** Hooks to supply clients (tests count requests; embedders reuse connections). */
export interface TierClients {
  /** Build the S3 client for a backend (default: createS3Client with its endpoint and region). */
  s3?: (backend: BackendConfig) => S3Client;
  /** Build the Kubo RPC client for a backend (default: kubo-rpc-client's create({ url })). */
  ipfs?: (backend: BackendConfig) => IpfsRpcClient;
}

/** What openTier needs besides the backend's own settings. */
export interface TierContext {
  /** Work tree root: relative `path`s of local backends are resolved against it. */
  workTree: string;
  /** Folder for cached manifest segments (one sub-folder per backend). */
  cacheDir?: string;
  compression: ProllyConfig['compression'];
  tamperProof?: ProllyConfig['storage']['tamper_proof'];
  /** Packs (or IPFS batches) uploading at once (default 2). */
  uploadConcurrency?: number;
  /** Pack size target in bytes (default: PackStore's 8 MiB). */
  targetPackBytes?: number;
  /** Retry policy for S3 and IPFS requests. */
  retry?: RetryPolicy;
  /** How long a manifest that lacks a chunk is trusted before listing again (ms; default 0 = list on every miss). */
  refreshIntervalMs?: number;
  clients?: TierClients;
}

/** The layers of an opened tier. */
export interface TierStores {
  /** Canonical chunks in and out, verified on read. */
  store: ChunkStore;
  /**
   * The store that holds stored-form chunks (CompressingStore's header byte + payload) on object-store
   * tiers; undefined on IPFS, which holds canonical bytes.
   */
  storedForm: ChunkStore | undefined;
  pack: PackStore | undefined;
  ipfs: IpfsStore | undefined;
  backend: ObjectBackend | undefined;
}

/**
 * A remote backend: opened on first use, with its health and traffic counters.
 *
 * @example
 * const tier = new Tier({ name: 'archive', type: 's3', bucket: 'data' }, ctx);
 * const bytes = await tier.store.get(address); // opens the S3 client on first use
 */
export class Tier {
  readonly name: string;
  readonly config: BackendConfig;
  readonly health: TierHealth;
  /** Where the bytes live, for messages: `s3://bucket/prefix`, a directory, an IPFS API URL. */
  readonly location: string;
  /** Canonical chunks (lazy: opens the backend on first call). */
  readonly store: ChunkStore;
  private readonly ctx: TierContext;
  private opening: Promise<TierStores> | undefined;
  private opened: TierStores | undefined;
  private abandoned = false;

  constructor(config: BackendConfig, ctx: TierContext) {
    this.name = config.name;
    this.config = config;
    this.ctx = ctx;
    this.health = new TierHealth(config.name);
    this.location = describeLocation(config, ctx.workTree);
    this.store = new LazyStore(`${config.name} (${this.location})`, () => this.open().then((s) => s.store));
  }

  get type(): BackendConfig['type'] {
    return this.config.type;
  }

  get maxAgeDays(): number | undefined {
    return this.config.max_age_days;
  }

  /** The tier's layers, opening clients on first call. */
  open(): Promise<TierStores> {
    this.opening ??= openTierStores(this.config, this.ctx).then((s) => (this.opened = s));
    return this.opening;
  }

  /**
   * Forget unflushed writes: close() will not flush them. Used after a failed push, so a dead
   * server is not retried on the way out and a replica that missed chunks never lists a partial
   * set (the next push re-plans and uploads what is missing).
   */
  abandon(): void {
    this.abandoned = true;
  }

  /** Flush and close what was opened (nothing when the tier was never used or was abandoned). */
  async close(): Promise<void> {
    if (!this.opening || this.abandoned) return;
    const stores = await this.opening.catch(() => undefined);
    if (stores) await stores.store.close();
    this.opened = undefined;
  }

  /** The opened layers, if the tier has been used. */
  get current(): TierStores | undefined {
    return this.opened;
  }
}

/**
 * Directory of a local backend, resolved against the work tree.
 * @example localBackendDir({ name: 'share', type: 'local', path: '../share' }, '/repo') // '/share'
 */
export function localBackendDir(config: BackendConfig, workTree: string): string {
  const p = config.path ?? '';
  return isAbsolute(p) ? resolve(p) : resolve(workTree, p);
}

function describeLocation(config: BackendConfig, workTree: string): string {
  switch (config.type) {
    case 'local':
      return localBackendDir(config, workTree);
    case 's3': {
      const prefix = (config.prefix ?? '').replace(/^\/+|\/+$/g, '');
      return `s3://${config.bucket}/${prefix}${config.endpoint ? ` at ${config.endpoint}` : ''}`;
    }
    case 'ipfs':
      return config.endpoint ?? '(no endpoint)';
  }
}

async function openTierStores(config: BackendConfig, ctx: TierContext): Promise<TierStores> {
  if (config.type === 'ipfs') {
    const { IpfsStore } = await import('../backends/ipfs-store.js');
    const client = ctx.clients?.ipfs ? ctx.clients.ipfs(config) : await defaultIpfsClient(config);
    const ipfs = new IpfsStore({ client, retry: ctx.retry });
    // IpfsStore checks every block against its CID (= address) itself.
    return { store: ipfs, storedForm: undefined, pack: undefined, ipfs, backend: undefined };
  }
  let backend: ObjectBackend;
  if (config.type === 'local') {
    const { DirectoryBackend } = await import('../backends/directory-backend.js');
    backend = new DirectoryBackend({ root: localBackendDir(config, ctx.workTree) });
  } else {
    // The SDK warns on every process that Node 20 support ends in 2027; a CLI must not print that on
    // each command (the engines field of package.json is where the supported range is stated).
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { S3Backend, createS3Client } = await import('../backends/s3-backend.js');
    const client = ctx.clients?.s3 ? ctx.clients.s3(config) : createS3Client({ endpoint: config.endpoint, region: config.region });
    const objectLock = ctx.tamperProof?.object_lock ?? false;
    backend = new S3Backend({
      client,
      bucket: config.bucket!,
      prefix: config.prefix,
      storageClass: config.storage_class,
      retry: ctx.retry,
      ...(objectLock ? { objectLockMode: 'COMPLIANCE' as const } : {}),
    });
  }
  const { PackStore } = await import('../pack/pack-store.js');
  const tamper = ctx.tamperProof;
  const level = ctx.compression.type === 'zstd' ? ctx.compression.level : 0;
  const pack = new PackStore({
    backend,
    uploadConcurrency: ctx.uploadConcurrency,
    targetPackBytes: ctx.targetPackBytes,
    cacheDir: ctx.cacheDir ? join(ctx.cacheDir, safeDirName(config.name)) : undefined,
    refreshIntervalMs: ctx.refreshIntervalMs,
    // Both backends are done with the bytes once a put resolves (written to a file / sent).
    reuseBuffers: true,
    ...(tamper?.object_lock && tamper.retention_days > 0 ? { retainForDays: tamper.retention_days } : {}),
    // Stored forms already compressed per chunk (copied by push from a compressed local store, or
    // from older remotes) are not compressed again.
    ...(level > 0 ? { blocks: { level, compressible: (stored: Uint8Array) => stored[0] !== STORED_ZSTD } } : {}),
  });
  // Like the local stack, chunks always carry the compression layer's header byte, so [compression]
  // can change without making what a remote holds unreadable. The header is always "raw" on write
  // (the pack layer compresses blocks); chunks stored zstd-compressed per chunk still decode.
  const compressing = new CompressingStore({ inner: pack, level: 0 });
  const store = new VerifyingStore({ inner: compressing, verifyOnPut: false, name: `${config.name} (${backend.name})` });
  return { store, storedForm: pack, pack, ipfs: undefined, backend };
}

async function defaultIpfsClient(config: BackendConfig): Promise<IpfsRpcClient> {
  const { create } = await import('kubo-rpc-client');
  return create({ url: config.endpoint });
}

function safeDirName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * A ChunkStore whose inner store is made on first use (so opening a repository with S3 tiers does
 * not load the AWS SDK until a read actually misses locally).
 */
class LazyStore implements ChunkStore {
  readonly name: string;
  private readonly make: () => Promise<ChunkStore>;
  private inner: Promise<ChunkStore> | undefined;

  constructor(name: string, make: () => Promise<ChunkStore>) {
    this.name = name;
    this.make = make;
  }

  private s(): Promise<ChunkStore> {
    this.inner ??= this.make();
    return this.inner;
  }

  async get(address: Uint8Array) {
    return (await this.s()).get(address);
  }
  async getMany(addresses: readonly Uint8Array[]) {
    return (await this.s()).getMany(addresses);
  }
  async has(address: Uint8Array) {
    return (await this.s()).has(address);
  }
  async hasMany(addresses: readonly Uint8Array[]) {
    return (await this.s()).hasMany(addresses);
  }
  async put(chunk: Chunk) {
    return (await this.s()).put(chunk);
  }
  async putMany(chunks: readonly Chunk[]) {
    return (await this.s()).putMany(chunks);
  }
  async flush() {
    if (this.inner) await (await this.inner).flush();
  }
  async *list() {
    yield* (await this.s()).list();
  }
  async close() {
    if (this.inner) await (await this.inner).close();
  }
}

/**
 * EBACKEND for a tier name that is not configured.
 * @example throw unknownTier('archive', ['s3main'])
 */
export function unknownTier(name: string, known: readonly string[]): ProllyError {
  return new ProllyError(
    ErrorCodes.INVALID_ARGUMENT,
    `no storage backend named "${name}" (configured remotes: ${known.length ? known.join(', ') : 'none; add one with git prolly remote add'})`,
    { name },
  );
}
