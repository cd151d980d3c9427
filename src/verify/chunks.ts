/**
 * Reading chunks for verification: the bytes come from the local store below its verification layer
 * (so a corrupt local copy is reported, not silently replaced by a remote's good one), or, for chunks
 * the clone does not have, from the remote tiers; either way the verifier hashes them itself. And
 * checking that a remote tier holds chunks without downloading them: pack tiers answer from their
 * index (which pack, its stored SHA-256) plus one HEAD per pack; IPFS answers from its pin set,
 * whose CIDs are the chunk hashes.
 */
import { ErrorCodes, ProllyError } from '../errors.js';
import type { RepoStore } from '../store/tiered/repo-store.js';
import type { Tier } from '../store/tiered/tier.js';
import { equalBytes, toHex } from '../util/bytes.js';
import { sha256 } from '../util/hash.js';

/** A chunk as read for verification: its bytes, or why there are none. */
export type ChunkRead =
  | { bytes: Uint8Array; source: string }
  | { bytes?: undefined; check: 'missing' | 'corrupt'; message: string };

/**
 * Reads chunks for the verifier, never trusting a layer to have checked them.
 * @example const [r] = await reader.read([address]); if (!r.bytes) report(r.message);
 */
export class ChunkReader {
  /** Chunks read from the remote tiers because the local store lacked them. */
  remoteReads = 0;
  bytesRead = 0;

  constructor(private readonly rs: RepoStore) {}

  /** Read and hash-check `addresses` (order kept); `count: false` leaves the byte counters alone. */
  async read(addresses: readonly Uint8Array[], options: { count?: boolean } = {}): Promise<ChunkRead[]> {
    const count = options.count !== false;
    const local = this.rs.local.compressing;
    const out: (ChunkRead | undefined)[] = new Array(addresses.length);
    let got: (Uint8Array | undefined)[];
    try {
      got = await local.getMany(addresses);
    } catch {
      // One undecodable chunk fails the batch: read one by one to name it.
      got = [];
      for (let i = 0; i < addresses.length; i++) {
        try {
          got.push(await local.get(addresses[i]!));
        } catch (err) {
          got.push(undefined);
          out[i] = { check: 'corrupt', message: `chunk ${toHex(addresses[i]!)} in the local store is corrupt: ${messageOf(err)}` };
        }
      }
    }
    const absent: number[] = [];
    for (let i = 0; i < addresses.length; i++) {
      if (out[i]) continue;
      const bytes = got[i];
      if (bytes === undefined) absent.push(i);
      else out[i] = this.checked(addresses[i]!, bytes, 'the local store', count);
    }
    if (absent.length > 0) {
      const remote = this.rs.placement;
      if (!remote) {
        for (const i of absent) out[i] = { check: 'missing', message: `chunk ${toHex(addresses[i]!)} is missing from the local store (no remote backend configured)` };
      } else {
        const from = `the remote tiers (${remote.readTiers.map((t) => t.name).join(', ')})`;
        const fetched = await this.readRemote(absent.map((i) => addresses[i]!));
        absent.forEach((i, j) => {
          const f = fetched[j]!;
          if (f instanceof Uint8Array) {
            if (count) this.remoteReads++;
            out[i] = this.checked(addresses[i]!, f, from, count);
          } else {
            out[i] = f === undefined ? { check: 'missing', message: `chunk ${toHex(addresses[i]!)} is missing from the local store and from ${from}` } : { check: 'corrupt', message: f };
          }
        });
      }
    }
    return out as ChunkRead[];
  }

  private async readRemote(addresses: Uint8Array[]): Promise<(Uint8Array | string | undefined)[]> {
    const remote = this.rs.placement!;
    try {
      return await remote.getMany(addresses);
    } catch {
      const out: (Uint8Array | string | undefined)[] = [];
      for (const a of addresses) {
        try {
          out.push(await remote.get(a));
        } catch (err) {
          // Bad bytes are a finding; an unreachable backend means the check could not run (exit 2).
          if (!(err instanceof ProllyError && err.code === ErrorCodes.CHUNK_CORRUPT)) {
            throw new ProllyError(ErrorCodes.BACKEND, `could not read chunk ${toHex(a)} from the remote tiers to verify it: ${messageOf(err)}`, { address: toHex(a) }, { cause: err });
          }
          out.push(`chunk ${toHex(a)} from the remote tiers is corrupt: ${messageOf(err)}`);
        }
      }
      return out;
    }
  }

  private checked(address: Uint8Array, bytes: Uint8Array, from: string, count: boolean): ChunkRead {
    if (count) this.bytesRead += bytes.length;
    const actual = sha256(bytes);
    if (equalBytes(actual, address)) return { bytes, source: from };
    return { check: 'corrupt', message: `chunk ${toHex(address)} read from ${from} is corrupt: its ${bytes.length} bytes hash to ${toHex(actual)}` };
  }
}

function messageOf(err: unknown): string {
  return err instanceof ProllyError || err instanceof Error ? err.message : String(err);
}

/** A remote-tier finding about one chunk. */
export interface RemoteFinding {
  address: Uint8Array;
  check: 'remote-missing' | 'remote-corrupt';
  message: string;
}

/**
 * Checks that one remote tier holds chunks and that they match, downloading only when the tier's
 * own records cannot settle it.
 * @example const findings = await remote.check([{ address, bytes }]);
 */
export class RemoteChecker {
  /** Chunks checked from the tier's records alone. */
  checkedByIndex = 0;
  /** Chunks downloaded because the stored checksum could not be matched from local bytes. */
  downloaded = 0;
  /** HEAD requests for packs. */
  packHeads = 0;
  private readonly packs = new Map<string, string | null>();
  private refreshed = false;

  constructor(
    private readonly tier: Tier,
    private readonly rs: RepoStore,
  ) {}

  get name(): string {
    return this.tier.name;
  }

  /** Findings for chunks whose canonical bytes are known (they passed the local check). */
  async check(chunks: readonly { address: Uint8Array; bytes: Uint8Array }[]): Promise<RemoteFinding[]> {
    if (chunks.length === 0) return [];
    const stores = await this.tier.open();
    const where = `remote ${this.tier.name} (${this.tier.location})`;
    const findings: RemoteFinding[] = [];
    if (stores.ipfs) {
      // A pinned block's CID is the SHA-256 of its bytes: present means identical.
      const has = await stores.ipfs.hasMany(chunks.map((c) => c.address));
      chunks.forEach((c, i) => {
        if (has[i]) this.checkedByIndex++;
        else findings.push({ address: c.address, check: 'remote-missing', message: `chunk ${toHex(c.address)} is not pinned on ${where}` });
      });
      return findings;
    }
    const pack = stores.pack;
    if (!pack || !stores.backend) {
      // No index to consult: ask the tier for the chunk (it verifies what it returns).
      for (const c of chunks) findings.push(...(await this.download(c, where)));
      return findings;
    }
    if (!this.refreshed) {
      this.refreshed = true;
      await pack.refresh();
    }
    const { packObjectName } = await import('../store/pack/pack-format.js');
    for (const c of chunks) {
      const loc = await pack.locate(c.address);
      if (!loc) {
        findings.push({ address: c.address, check: 'remote-missing', message: `chunk ${toHex(c.address)} is missing from ${where}: no pack lists it` });
        continue;
      }
      const packHex = toHex(loc.pack.hash);
      let packProblem = this.packs.get(packHex);
      if (packProblem === undefined) {
        const name = packObjectName(loc.pack.hash);
        this.packHeads++;
        const head = await stores.backend.head(name);
        packProblem = !head ? `its pack ${name} is missing` : head.size !== loc.pack.size ? `its pack ${name} has ${head.size} bytes, the index says ${loc.pack.size}` : null;
        this.packs.set(packHex, packProblem);
      }
      if (packProblem) {
        findings.push({ address: c.address, check: 'remote-missing', message: `chunk ${toHex(c.address)} is missing from ${where}: ${packProblem}` });
        continue;
      }
      if (loc.offset + loc.length > loc.pack.size) {
        findings.push({ address: c.address, check: 'remote-corrupt', message: `chunk ${toHex(c.address)} on ${where}: its index entry points past the end of its pack` });
        continue;
      }
      // The index stores SHA-256 of the stored form (1 header byte + raw or zstd bytes): match it from
      // the local stored form or the raw form; only a different compression needs a download.
      if (this.matchesStoredForm(c, loc.checksum)) {
        this.checkedByIndex++;
        continue;
      }
      findings.push(...(await this.download(c, where)));
    }
    return findings;
  }

  private matchesStoredForm(c: { address: Uint8Array; bytes: Uint8Array }, checksum: Uint8Array): boolean {
    const raw = new Uint8Array(c.bytes.length + 1);
    raw.set(c.bytes, 1);
    if (equalBytes(sha256(raw), checksum)) return true;
    try {
      const stored = this.rs.local.local.getSync(c.address);
      if (stored && equalBytes(sha256(stored), checksum)) return true;
    } catch {
      /* no local stored form to compare */
    }
    return false;
  }

  private async download(c: { address: Uint8Array; bytes: Uint8Array }, where: string): Promise<RemoteFinding[]> {
    this.downloaded++;
    try {
      const bytes = await this.tier.store.get(c.address);
      if (!bytes) return [{ address: c.address, check: 'remote-missing', message: `chunk ${toHex(c.address)} is missing from ${where}` }];
      if (!equalBytes(bytes, c.bytes)) return [{ address: c.address, check: 'remote-corrupt', message: `chunk ${toHex(c.address)} on ${where} differs from the verified bytes` }];
      return [];
    } catch (err) {
      return [{ address: c.address, check: 'remote-corrupt', message: `chunk ${toHex(c.address)} on ${where} is corrupt: ${messageOf(err)}` }];
    }
  }
}
