/**
 * `git prolly rekey --new-key <provider>`: master-key rotation. Every encrypted remote's keyring is
 * re-wrapped from the current key ([security] key_provider) to the new one; no data is rewritten.
 * Then point key_provider (or the variable it names) at the new key.
 *
 * `git prolly rekey --reencrypt`: data-key rotation, for a key that may have leaked. A new data key
 * is added, every chunk is decrypted and written again under it (new object names, new ciphertext),
 * the old packs are deleted and the old key is retired. Run it while nobody pushes to the remote.
 *
 * Both may be given: the keyring is re-wrapped first, and re-encryption uses the new master key.
 */
import type { ProllyConfig } from '../../config/config.js';
import { ErrorCodes, ProllyError, invalidArgument } from '../../errors.js';
import { parseKeyProvider } from '../../store/crypto/key-provider.js';
import { BackendKeyringStore, KEYRING_OBJECT, Keyring, ReplicatedKeyringStore, type KeyringStore } from '../../store/crypto/keyring.js';
import { reencryptPackRemote } from '../../store/crypto/rekey.js';
import type { ObjectBackend } from '../../store/backends/object-backend.js';
import { memberOf, writeQuorumOf } from '../../store/erasure/placement.js';
import { ErasureBackend } from '../../store/erasure/erasure-backend.js';
import type { Repo } from '../../repo/repo.js';
import { remoteTiers, type RepoLocation } from '../../store/tiered/repo-store.js';
import { withRepo } from '../context.js';
import { formatBytes, formatCount, type Output } from '../output.js';

/** One encrypted remote: where its keyring is and the backend its packs are on. */
interface EncryptedRemote {
  name: string;
  keyring: KeyringStore;
  /** Opens the pack backend (an erasure set, or one backend) with an opened keyring. */
  packBackend(keyring: Keyring): ObjectBackend;
  /** Run after re-encryption, before the old key is retired (re-seal erasure placement). */
  afterReencrypt?(backend: ObjectBackend): Promise<void>;
}

async function encryptedRemotes(config: ProllyConfig, loc: RepoLocation): Promise<EncryptedRemote[]> {
  const tiers = remoteTiers(config, loc);
  const routing = config.storage.routing;
  if (routing.strategy === 'erasure') {
    const members = await Promise.all(tiers.map((t) => memberOf(t)));
    return [
      {
        name: `erasure set (${members.map((m) => m.id).join(', ')})`,
        keyring: new ReplicatedKeyringStore({ backends: members.map((m) => m.backend), quorum: Math.min(members.length, routing.parity_shards + 1) }),
        packBackend: (keyring) => new ErasureBackend({ members, dataShards: routing.data_shards, parityShards: routing.parity_shards, writeQuorum: writeQuorumOf(routing), maxShardsPerProvider: routing.max_cloud_providers, sealer: keyring }),
        afterReencrypt: async (backend) => void (await (backend as ErasureBackend).compactPlacement()),
      },
    ];
  }
  const out: EncryptedRemote[] = [];
  for (const t of tiers) {
    if (t.config.type === 'ipfs') continue; // raw IPFS block tiers are not encrypted; see docs/SECURITY.md
    const { backend } = await memberOf(t);
    if (!(await backend.head(KEYRING_OBJECT))) continue;
    out.push({ name: t.name, keyring: new BackendKeyringStore(backend), packBackend: () => backend });
  }
  return out;
}

export async function run(out: Output, _args: unknown[], options: Record<string, unknown>): Promise<number> {
  const newKeySpec = options.newKey as string | undefined;
  const reencrypt = Boolean(options.reencrypt);
  if (!newKeySpec && !reencrypt) throw invalidArgument('say what to rotate: --new-key <provider> (re-wrap under a new master key) and/or --reencrypt (new data key)');
  return withRepo('rekey', async (repo) => {
    const config = repo.config;
    const current = parseKeyProvider(config.security.key_provider, { cwd: repo.paths.workTree });
    const master = await current.getKey();
    const next = newKeySpec ? parseKeyProvider(newKeySpec, { cwd: repo.paths.workTree }) : undefined;
    const newMaster = next ? await next.getKey() : undefined;
    const remotes = await encryptedRemotes(config, repo.paths);
    if (remotes.length === 0) {
      throw new ProllyError(ErrorCodes.CHUNK_MISSING, 'no encrypted remote found: nothing was pushed with client_encryption = true', {});
    }
    const results: Record<string, unknown>[] = [];
    try {
      for (const remote of remotes) {
        const keyring = await Keyring.open({ store: remote.keyring, master, source: current.description });
        const result: Record<string, unknown> = { remote: remote.name, keyIds: keyring.all.map((k) => k.idHex) };
        // Listed before the work: a remote that fails half-way is still named in the audit entry.
        results.push(result);
        if (newMaster) {
          await keyring.rewrap(newMaster);
          result.rewrapped = next!.description;
        }
        if (reencrypt) {
          const backend = remote.packBackend(keyring);
          const r = await reencryptPackRemote({ backend, keyring, beforeRetire: remote.afterReencrypt ? () => remote.afterReencrypt!(backend) : undefined });
          Object.assign(result, r);
        }
      }
    } finally {
      await auditRekey(repo, results, remotes.length);
    }
    if (out.json) await out.printJson({ remotes: results });
    else {
      for (const r of results) {
        const parts = [];
        if (r.rewrapped) parts.push(`keyring re-wrapped under ${String(r.rewrapped)}`);
        if (r.chunks !== undefined) parts.push(`${formatCount(r.chunks as number)} chunks (${formatBytes(r.bytes as number)}) re-encrypted under data key ${String(r.newKeyId)}, ${formatCount(r.objectsDeleted as number)} old objects deleted`);
        await out.line(`${String(r.remote)}: ${parts.join('; ')}`);
      }
      if (next) await out.line(`now set [security] key_provider = "${newKeySpec}" (or put the new key where "${config.security.key_provider}" reads it)`);
    }
    return 0;
  });
}

/** The audit entry of a rekey: which remotes, re-wrapped under which provider (never a key), what was re-encrypted. */
async function auditRekey(repo: Repo, results: readonly Record<string, unknown>[], total: number): Promise<void> {
  const changed = results.filter((r) => r.rewrapped !== undefined || r.chunks !== undefined);
  if (changed.length === 0) return;
  const parts: string[] = [];
  const rewrapped = changed.filter((r) => r.rewrapped !== undefined);
  if (rewrapped.length) parts.push(`keyring re-wrapped under ${String(rewrapped[0]!.rewrapped)} on ${rewrapped.length} remote(s)`);
  const re = changed.filter((r) => r.chunks !== undefined);
  if (re.length) parts.push(`${re.reduce((n, r) => n + Number(r.chunks ?? 0), 0)} chunks re-encrypted under a new data key on ${re.length} remote(s)`);
  const { auditStorage } = await import('../../audit/record.js');
  await auditStorage(repo, {
    op: 'rekey',
    what: `rekey: ${parts.join('; ')}${changed.length < total ? ` (stopped after ${changed.length} of ${total} remotes)` : ''}`,
    details: { remotes: results, complete: changed.length === total },
  });
}
