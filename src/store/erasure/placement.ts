/**
 * `strategy = "erasure"` (and, optionally, per-pack `"replicate"`) as a Placement (src/store/tiered/placement.ts): every configured remote
 * backend becomes a member of one ErasureBackend, and the remote's chunk stack over it is
 *
 *   verify → zstd ([compression]) → encryption ([security] client_encryption) → packs → erasure → members
 *
 * Members: local directories (DirectoryBackend), S3 buckets (S3Backend), IPFS nodes (IpfsMfsBackend,
 * objects under /git-prolly/<prefix> in MFS). A member's provider (for max_cloud_providers, the cap
 * of shards per provider) is its S3 endpoint host ('aws' without one) or its IPFS API; directories are
 * not capped.
 *
 * Register the factory once, with the settings a Placement factory does not receive:
 *   registerErasurePlacement({ compression: config.compression, security: config.security });
 *   const placement = createPlacement({ routing: config.storage.routing, tiers });
 */
import type { BackendConfig, ProllyConfig } from '../../config/config.js';
import { ErrorCodes, ProllyError } from '../../errors.js';
import type { ObjectBackend } from '../backends/object-backend.js';
import type { Chunk, ChunkStore } from '../chunk-store.js';
import { CompressingStore } from '../compressing-store.js';
import { EncryptingStore } from '../crypto/encrypting-store.js';
import { parseKeyProvider, type KeyProvider } from '../crypto/key-provider.js';
import { Keyring, ReplicatedKeyringStore } from '../crypto/keyring.js';
import { PackStore } from '../pack/pack-store.js';
import { registerPlacement, type Placement, type PlacementOptions, type PlacementStats } from '../tiered/placement.js';
import type { Tier } from '../tiered/tier.js';
import { VerifyingStore } from '../verifying-store.js';
import { ErasureBackend, type DegradedRead, type ErasureMember } from './erasure-backend.js';

/** Settings of the erasure stack that are not in [storage.routing]. */
export interface ErasureStackSettings {
  compression: ProllyConfig['compression'];
  security: Pick<ProllyConfig['security'], 'client_encryption' | 'key_provider'>;
  /** Overrides `security.key_provider` (tests, embedders). */
  keyProvider?: KeyProvider;
  /** Directory relative key-file paths resolve against (default: the process's). */
  workTree?: string;
  /** Create the keyring on first use (push); reads of a remote without one fail instead (default true). */
  createKeyring?: boolean;
  /** Pack size target (default 8 MiB). */
  targetPackBytes?: number;
  onDegraded?: (event: DegradedRead) => void;
}

/** An opened erasure set: the coded backend, its members and (with encryption) the keyring. */
export interface ErasureSet {
  backend: ErasureBackend;
  members: ErasureMember[];
  keyring: Keyring | undefined;
}

/**
 * The ObjectBackend a [[storage.backends]] entry names, as an erasure member.
 * @example memberOf(tier) // { id: 's3-eu', backend: S3Backend, provider: 's3.eu-west-1.amazonaws.com' }
 */
export async function memberOf(tier: Pick<Tier, 'name' | 'config' | 'location'>): Promise<ErasureMember> {
  const c = tier.config;
  return { id: tier.name, backend: await objectBackendOf(c, tier.location), provider: providerOf(c) };
}

async function objectBackendOf(c: BackendConfig, location: string): Promise<ObjectBackend> {
  switch (c.type) {
    case 'local': {
      const { DirectoryBackend } = await import('../backends/directory-backend.js');
      return new DirectoryBackend({ root: location });
    }
    case 's3': {
      const { S3Backend, createS3Client } = await import('../backends/s3-backend.js');
      return new S3Backend({ client: createS3Client({ endpoint: c.endpoint, region: c.region }), bucket: c.bucket!, prefix: c.prefix, storageClass: c.storage_class });
    }
    case 'ipfs': {
      const { create } = await import('kubo-rpc-client');
      const { IpfsMfsBackend } = await import('./ipfs-mfs-backend.js');
      return new IpfsMfsBackend({ client: create({ url: c.endpoint }), root: `/git-prolly/${(c.prefix ?? 'default').replace(/^\/+|\/+$/g, '')}` });
    }
  }
}

function providerOf(c: BackendConfig): string | undefined {
  if (c.type === 's3') return `s3:${c.endpoint ? new URL(c.endpoint).host : 'aws'}`;
  if (c.type === 'ipfs') return `ipfs:${c.endpoint ?? ''}`;
  return undefined;
}

/**
 * Open the erasure set of `tiers` under `routing`, with the keyring when client encryption is on
 * (its master key from the key provider; the keyring is copied to every member).
 * @example const { backend } = await openErasureSet({ routing, tiers, settings }); await backend.repair();
 */
export async function openErasureSet(opts: { routing: ProllyConfig['storage']['routing']; tiers: readonly Tier[]; settings: ErasureStackSettings }): Promise<ErasureSet> {
  const { routing, settings } = opts;
  const { k, m } = shardCounts(routing);
  const members = await Promise.all(opts.tiers.map((t) => memberOf(t)));
  let keyring: Keyring | undefined;
  if (settings.security.client_encryption) {
    const provider = settings.keyProvider ?? parseKeyProvider(settings.security.key_provider, { cwd: settings.workTree });
    const master = await provider.getKey();
    const store = new ReplicatedKeyringStore({ backends: members.map((x) => x.backend), quorum: Math.min(members.length, m + 1) });
    keyring = await Keyring.open({ store, master, create: settings.createKeyring ?? true, source: provider.description });
  }
  const backend = new ErasureBackend({
    members,
    dataShards: k,
    parityShards: m,
    writeQuorum: writeQuorumOf(routing),
    maxShardsPerProvider: routing.max_cloud_providers,
    sealer: keyring,
    onDegraded: settings.onDegraded,
  });
  return { backend, members, keyring };
}

/**
 * Data and parity shards per pack: k and m for "erasure"; for "replicate" one data shard and
 * replication_factor − 1 copies (a k = 1 code is plain replication), so replicated packs get the
 * same per-pack member choice, placement manifest, checksums, degraded reads and repair.
 * @example shardCounts({ strategy: 'replicate', replication_factor: 3, … }) // { k: 1, m: 2 }
 */
export function shardCounts(routing: ProllyConfig['storage']['routing']): { k: number; m: number } {
  if (routing.strategy === 'replicate') return { k: 1, m: routing.replication_factor - 1 };
  return { k: routing.data_shards, m: routing.parity_shards };
}

/**
 * Shards (or copies) a write must store. Replicate: `quorum` copies (0: every copy). Erasure: `quorum`
 * counts shards when it is at least k; below that (and at 0) every shard must be written.
 */
export function writeQuorumOf(routing: ProllyConfig['storage']['routing']): number {
  const { k, m } = shardCounts(routing);
  if (routing.strategy === 'replicate') return routing.quorum === 0 ? k + m : Math.min(routing.quorum, k + m);
  return routing.quorum >= k ? Math.min(routing.quorum, k + m) : k + m;
}

/**
 * The erasure placement: a ChunkStore of canonical chunks over the erasure set, opened on first use.
 * With `strategy = "replicate"` it is per-pack replication (see {@link shardCounts}).
 *
 * @example
 * const placement = new ErasurePlacement({ routing, tiers, settings: { compression, security } });
 * await placement.putMany(chunks); await placement.flush();
 */
export class ErasurePlacement implements Placement {
  readonly strategy: 'erasure' | 'replicate';
  readonly name: string;
  readonly readTiers: readonly Tier[];
  readonly writeTiers: readonly Tier[];
  private readonly opts: { routing: ProllyConfig['storage']['routing']; tiers: readonly Tier[]; settings: ErasureStackSettings };
  private opening: Promise<{ set: ErasureSet; store: ChunkStore }> | undefined;
  private set: ErasureSet | undefined;

  constructor(opts: { routing: ProllyConfig['storage']['routing']; tiers: readonly Tier[]; settings: ErasureStackSettings }) {
    const { k, m } = shardCounts(opts.routing);
    this.strategy = opts.routing.strategy === 'replicate' ? 'replicate' : 'erasure';
    if (this.strategy === 'replicate' && m < 1) {
      throw new ProllyError(ErrorCodes.BAD_CONFIG, `storage.routing: per-pack replication needs replication_factor ≥ 2, got ${opts.routing.replication_factor}`, {
        key: 'storage.routing.replication_factor',
      });
    }
    if (opts.tiers.length < k + m) {
      const what = this.strategy === 'replicate' ? `replicate with replication_factor = ${k + m}` : `erasure with data_shards = ${k} and parity_shards = ${m}`;
      throw new ProllyError(ErrorCodes.BAD_CONFIG, `storage.routing: ${what} needs ${k + m} remote backends, ${opts.tiers.length} are configured`, {
        key: this.strategy === 'replicate' ? 'storage.routing.replication_factor' : 'storage.routing.data_shards',
      });
    }
    this.opts = opts;
    this.readTiers = opts.tiers;
    this.writeTiers = opts.tiers;
    this.name = `${this.strategy === 'replicate' ? `replicate(${k + m})` : `erasure(${k}+${m})`} over ${opts.tiers.map((t) => t.name).join(', ')}`;
  }

  get stats(): PlacementStats {
    const s = this.set?.backend.stats;
    return { failovers: s?.degradedReads ?? 0, failoverChunks: s?.reconstructedBlocks ?? 0, degradedWrites: 0 };
  }

  /** The opened erasure set (opens it), for status and repair. */
  async erasureSet(): Promise<ErasureSet> {
    return (await this.open()).set;
  }

  private open(): Promise<{ set: ErasureSet; store: ChunkStore }> {
    this.opening ??= (async () => {
      const set = await openErasureSet(this.opts);
      this.set = set;
      const pack = new PackStore({ backend: set.backend, targetPackBytes: this.opts.settings.targetPackBytes });
      const sealed: ChunkStore = set.keyring ? new EncryptingStore({ inner: pack, keyring: set.keyring }) : pack;
      const c = this.opts.settings.compression;
      const compressed: ChunkStore = c.type === 'zstd' ? new CompressingStore({ inner: sealed, level: c.level }) : sealed;
      return { set, store: new VerifyingStore({ inner: compressed, verifyOnPut: false, name: this.name }) };
    })().catch((e: unknown) => {
      this.opening = undefined;
      throw e;
    });
    return this.opening;
  }

  async get(address: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.open()).store.get(address);
  }
  async getMany(addresses: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    return (await this.open()).store.getMany(addresses);
  }
  async has(address: Uint8Array): Promise<boolean> {
    return (await this.open()).store.has(address);
  }
  async hasMany(addresses: readonly Uint8Array[]): Promise<boolean[]> {
    return (await this.open()).store.hasMany(addresses);
  }
  async put(chunk: Chunk): Promise<void> {
    return (await this.open()).store.put(chunk);
  }
  async putMany(chunks: readonly Chunk[]): Promise<void> {
    return (await this.open()).store.putMany(chunks);
  }
  async flush(): Promise<void> {
    if (this.opening) await (await this.opening).store.flush();
  }
  async *list(): AsyncIterable<Uint8Array> {
    yield* (await this.open()).store.list();
  }
  async close(): Promise<void> {
    if (this.opening) await (await this.opening.catch(() => undefined))?.store.close();
  }
}

/**
 * Make `strategy = "erasure"` available to createPlacement, with the settings it needs.
 * @example registerErasurePlacement({ compression: config.compression, security: config.security })
 */
export function registerErasurePlacement(settings: ErasureStackSettings): void {
  registerPlacement('erasure', (opts: PlacementOptions) => new ErasurePlacement({ routing: opts.routing, tiers: opts.tiers, settings }));
}

/**
 * Per-pack replication for `strategy = "replicate"` (copies on members chosen per pack, a sealed
 * placement manifest, repair). Registering it replaces the tiered layer's whole-tier replication.
 * @example registerPerPackReplication({ compression: config.compression, security: config.security })
 */
export function registerPerPackReplication(settings: ErasureStackSettings): void {
  registerPlacement('replicate', (opts: PlacementOptions) => new ErasurePlacement({ routing: opts.routing, tiers: opts.tiers, settings }));
}
