/**
 * `git prolly verify`: check a range of history without trusting the storage it lives on. Per commit
 * (parents before children): the commit object hashes to its id; its signature is valid and by an
 * allowed signer (when required); every dataset's pointer parses; every tree node — and with `deep`
 * every blob chunk — is present, hashes to its address, decodes, and agrees with its parent entry
 * (level, entry count, key bounds); with `remote`, a remote tier holds each chunk too.
 *
 * Verification is incremental: a node checked once (by address) is never checked again, and what a
 * dataset version shares with its parent's version is found by a diff-like walk and skipped, so each
 * commit costs about the nodes it added; with `from`, the tree at `from` is the trusted baseline. Every
 * problem names the commit, the dataset and the chunk.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BlobRef } from '../blob/blob-ref.js';
import { decodeBlobIndexNode } from '../blob/blob-index.js';
import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import type { GitCommit, GitRepo } from '../repo/git.js';
import { ObjectDb, resolveFullRef } from '../repo/git-objects.js';
import type { DatasetPointer } from '../repo/pointer.js';
import type { Repo } from '../repo/repo.js';
import type { AllowedSigners } from '../sign/allowed-signers.js';
import { openRepoStore, type RepoStore } from '../store/tiered/repo-store.js';
import { Node } from '../tree/node.js';
import { ByteLru } from '../store/lru.js';
import { compareBytes, toHex } from '../util/bytes.js';
import { ChunkReader, RemoteChecker } from './chunks.js';
import { commitRange, describeCommit, findRewrite, isAncestor } from './history.js';

/** What failed (stable names). */
export type VerifyCheck =
  /** A git object that is missing, unreadable or does not hash to its id. */
  | 'object'
  /** A signature that is bad, untrusted, missing (when required) or of an unsupported kind. */
  | 'signature'
  /** A dataset pointer file that does not parse, or whose count disagrees with its tree. */
  | 'pointer'
  /** A chunk no store has. */
  | 'missing'
  /** A chunk whose bytes do not hash to its address. */
  | 'corrupt'
  /** A chunk that hashes correctly but is not a valid node / blob index node. */
  | 'decode'
  /** A node that disagrees with its parent entry (level, count, key bounds, blob length). */
  | 'structure'
  /** A chunk the remote tier lacks. */
  | 'remote-missing'
  /** A chunk the remote tier holds with other bytes. */
  | 'remote-corrupt'
  /** History rewritten: a commit that should be there is not. */
  | 'history';

/** One problem, naming what it is about. */
export interface VerifyProblem {
  check: VerifyCheck;
  commit?: string;
  dataset?: string;
  chunk?: string;
  message: string;
}

/** What verification found for one commit. */
export interface CommitReport {
  commit: string;
  subject: string;
  signature: { status: 'good' | 'untrusted' | 'bad' | 'unsigned' | 'unsupported' | 'skipped'; principal?: string; fingerprint?: string; reason?: string };
  /** Datasets whose pointer this commit introduced (new pointer blobs). */
  datasets: string[];
  /** Chunks checked for this commit (new ones only). */
  chunks: number;
  problems: VerifyProblem[];
}

/** Options of {@link verifyHistory}. */
export interface VerifyHistoryOptions {
  /** Trusted, already verified revision: commits reachable from it are not checked (exclusive, like `from..to`). */
  from?: string;
  /** Last revision to check (default HEAD). */
  to?: string;
  /** Every commit must carry a good signature by an allowed signer. */
  requireSignatures?: boolean;
  /** Who may sign (needed for requireSignatures). */
  allowedSigners?: AllowedSigners;
  /** Also check every blob chunk (index and data) of every new value. */
  deep?: boolean;
  /** Also check that this remote tier holds every new chunk. */
  remote?: string;
  /** Branch to check against the audit log (full ref or short name); default: `to` when it is a branch, else HEAD's branch. */
  branch?: string;
  /** Check the branch against the audit log, when there is one (default true). */
  audit?: boolean;
  /** Progress after each commit. */
  onProgress?: (p: { commits: number; totalCommits: number; chunks: number; bytes: number }) => void;
}

/** The outcome. */
export interface VerifyReport {
  ok: boolean;
  from: string | null;
  to: string;
  commits: CommitReport[];
  problems: VerifyProblem[];
  totals: {
    commits: number;
    datasetVersions: number;
    nodes: number;
    blobChunks: number;
    schemas: number;
    bytes: number;
    /** Chunks fetched from remote tiers because the clone lacked them. */
    fetchedFromRemote: number;
    signaturesGood: number;
    remoteChecked: number;
    remoteDownloaded: number;
    remotePackHeads: number;
  };
  notes: string[];
  seconds: number;
}

/** What is known of a verified node: enough to check a later parent entry against it without a read. */
interface NodeSummary {
  level: number;
  count: number;
  first: Uint8Array | undefined;
  last: Uint8Array | undefined;
}

/** Expectations a parent entry sets for its child. */
interface Expectation {
  level: number;
  count: number;
  last: Uint8Array;
  /** Exclusive lower bound on the child's keys (undefined: none). */
  lower: Uint8Array | undefined;
  parent: string;
  entry: number;
}

const BATCH = 512;
const NO_SIGNERS: AllowedSigners = { source: '(no allowed-signers file)', entries: [] };

/**
 * Verify history from `from` (exclusive) to `to`. Never throws for a problem found — those are in the
 * report; throws (ProllyError) when it cannot run: bad revision, unreadable configuration.
 * @example
 * const report = await verifyHistory(repo, { from: lastVerified, requireSignatures: true, allowedSigners });
 * if (!report.ok) for (const p of report.problems) console.error(p.message);
 */
export async function verifyHistory(repo: Repo, options: VerifyHistoryOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  if (options.requireSignatures && !options.allowedSigners) {
    throw invalidArgument('--require-signatures needs an allowed-signers file (--allowed-signers FILE, [security] allowed_signers, or git config gpg.ssh.allowedSignersFile)');
  }
  const git = await repo.git();
  const to = await git.resolve(options.to ?? 'HEAD');
  const from = options.from !== undefined ? await git.resolve(options.from) : undefined;
  const { routing } = repo.config.storage;
  if (options.remote !== undefined && (routing.strategy === 'erasure' || repo.config.security.client_encryption)) {
    // Those backends hold shards / ciphertext under their own manifests, not the chunk packs this check reads.
    throw invalidArgument(
      `--remote ${options.remote}: with ${routing.strategy === 'erasure' ? 'erasure coding' : 'client encryption'} the backends do not hold chunks one by one; check them with git prolly repair --dry-run`,
      { remote: options.remote },
    );
  }
  const rs = await openRepoStore(repo.config, repo.paths, { readOnly: true, recordMetrics: false });
  try {
    const v = new Verifier(git, rs, options);
    return await v.run(from, to, started);
  } finally {
    await rs.close();
  }
}

class Verifier {
  private readonly reader: ChunkReader;
  private readonly remote: RemoteChecker | undefined;
  /** Chunk address hex → summary (verified good) or null (a problem was reported for it). */
  private readonly verified = new Map<string, NodeSummary | null>();
  /** Decoded nodes read in this run (all hash-checked), for the parent diffs and the walk. */
  private readonly cache = new ByteLru<string, Node>({ maxBytes: 64 * 1024 * 1024, sizeOf: (n) => n.bytes.length + 256 });
  /** Pointer blobs already checked. */
  private readonly pointerBlobs = new Set<string>();
  private readonly report: VerifyReport;
  private current: CommitReport | undefined;

  constructor(
    private readonly git: GitRepo,
    private readonly rs: RepoStore,
    private readonly options: VerifyHistoryOptions,
  ) {
    this.reader = new ChunkReader(rs);
    this.remote = options.remote !== undefined ? new RemoteChecker(rs.tier(options.remote), rs) : undefined;
    this.report = {
      ok: true,
      from: null,
      to: '',
      commits: [],
      problems: [],
      totals: { commits: 0, datasetVersions: 0, nodes: 0, blobChunks: 0, schemas: 0, bytes: 0, fetchedFromRemote: 0, signaturesGood: 0, remoteChecked: 0, remoteDownloaded: 0, remotePackHeads: 0 },
      notes: [],
      seconds: 0,
    };
  }

  private problem(p: VerifyProblem): void {
    const full = { ...p, ...(this.current && !p.commit ? { commit: this.current.commit } : {}) };
    this.report.problems.push(full);
    this.current?.problems.push(full);
  }

  async run(from: string | undefined, to: string, started: number): Promise<VerifyReport> {
    const r = this.report;
    r.from = from ?? null;
    r.to = to;
    if (from && !(await isAncestor(this.git, from, to))) {
      const rw = await findRewrite(this.git, from, to);
      this.problem({
        check: 'history',
        commit: rw.rewritten?.oid ?? from,
        message:
          `history was rewritten: ${from.slice(0, 12)} (--from) is not in the history of ${to.slice(0, 12)}` +
          (rw.rewritten ? `; ${describeCommit(rw.rewritten)} is the oldest commit it had that is gone` : '') +
          (rw.replacement ? `, replaced by ${describeCommit(rw.replacement)}` : ''),
      });
    }
    const { commits, missing, excluded } = await commitRange(this.git, { tips: [to], exclude: from ? [from] : [] });
    for (const oid of missing) {
      if (this.isShallow()) r.notes.push(`commit ${oid.slice(0, 12)} is not in this (shallow) clone: history below it was not checked`);
      else this.problem({ check: 'object', commit: oid, message: `commit ${oid} is missing from the repository (a parent of a commit in the range)` });
    }
    if (this.options.audit !== false) await this.checkAudit(to);

    for (const c of commits) {
      this.current = { commit: c.oid, subject: c.message.split('\n')[0]!, signature: { status: 'skipped' }, datasets: [], chunks: 0, problems: [] };
      r.commits.push(this.current);
      const before = this.report.totals.nodes + this.report.totals.blobChunks + this.report.totals.schemas;
      await this.checkCommit(c, excluded);
      this.current.chunks = this.report.totals.nodes + this.report.totals.blobChunks + this.report.totals.schemas - before;
      r.totals.commits++;
      this.options.onProgress?.({ commits: r.totals.commits, totalCommits: commits.length, chunks: this.verified.size, bytes: this.reader.bytesRead });
    }
    this.current = undefined;
    r.totals.bytes = this.reader.bytesRead;
    r.totals.fetchedFromRemote = this.reader.remoteReads;
    if (this.remote) {
      r.totals.remoteDownloaded = this.remote.downloaded;
      r.totals.remotePackHeads = this.remote.packHeads;
    }
    r.ok = r.problems.length === 0;
    r.seconds = Math.round((performance.now() - started) / 10) / 100;
    return r;
  }

  private isShallow(): boolean {
    return existsSync(join(this.git.paths.commonDir, 'shallow'));
  }

  /** The branch `to` stands for must still contain what the audit log last recorded for it. */
  private async checkAudit(to: string): Promise<void> {
    const { auditHead, readAuditLog, checkBranch } = await import('../audit/index.js');
    if (!auditHead(this.git)) {
      this.report.notes.push('no audit log (refs/prolly/audit): history was not checked against it');
      return;
    }
    const ref = await this.branchRef(to);
    if (!ref) {
      this.report.notes.push('the range does not end at a branch (detached HEAD?): pass --branch NAME to check it against the audit log');
      return;
    }
    let last: { seq: number; commit: string } | undefined;
    for (const rec of await readAuditLog(this.git)) {
      const e = rec.entry;
      if (e && e.ref === ref && e.commits?.after && ['commit', 'merge', 'ack'].includes(e.op)) last = { seq: e.seq, commit: e.commits.after };
    }
    if (!last) {
      this.report.notes.push(`the audit log records nothing for ${ref}`);
      return;
    }
    for (const p of await checkBranch(this.git, { ref, tip: to, recordedTip: last.commit, entry: last.seq })) {
      this.problem({ check: 'history', commit: p.commit, message: p.message });
    }
  }

  private async branchRef(to: string): Promise<string | undefined> {
    const name = this.options.branch ?? this.options.to;
    if (name !== undefined) {
      for (const candidate of name.startsWith('refs/') ? [name] : [`refs/heads/${name}`]) {
        if (this.options.branch !== undefined || resolveFullRef(this.git.paths, candidate) === to) return candidate;
      }
      // `--to origin/main`: a remote-tracking branch stands for the branch of the same name.
      const m = /^(?:refs\/remotes\/)?[^/]+\/(.+)$/.exec(name);
      if (m && resolveFullRef(this.git.paths, name.startsWith('refs/') ? name : `refs/remotes/${name}`) === to) return `refs/heads/${m[1]}`;
      return undefined;
    }
    const head = await this.git.head();
    return head.ref && head.oid === to ? head.ref : undefined;
  }

  private async checkCommit(c: GitCommit, excluded: Set<string>): Promise<void> {
    // The commit object itself: present, and hashing to its id (git's own integrity).
    const obj = this.readObjectSafely(c.oid);
    if (!obj) return;
    if (ObjectDb.hash('commit', obj) !== c.oid) {
      this.problem({ check: 'object', message: `commit ${c.oid} does not hash to its id: the object was altered in place` });
    }
    await this.checkSignature(obj);

    let blobs: Map<string, string>;
    try {
      blobs = await this.git.datasetBlobsAt(c.oid);
    } catch (err) {
      this.problem({ check: 'object', message: `commit ${describeCommit(c)}: its tree cannot be read: ${(err as Error).message}` });
      return;
    }
    // Parents outside the range are the trusted baseline: their pointers need no check.
    for (const p of c.parents.filter((x) => excluded.has(x))) {
      try {
        for (const oid of (await this.git.datasetBlobsAt(p)).values()) this.pointerBlobs.add(oid);
      } catch {
        /* an unreadable baseline: this commit is verified in full */
      }
    }
    for (const [name, blobOid] of [...blobs].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (this.pointerBlobs.has(blobOid)) continue;
      this.pointerBlobs.add(blobOid);
      this.current!.datasets.push(name);
      this.report.totals.datasetVersions++;
      let pointer: DatasetPointer;
      try {
        pointer = await this.git.pointerBlob(blobOid, `${c.oid.slice(0, 12)}:.prolly/datasets/${name}`);
      } catch (err) {
        this.problem({ check: 'pointer', dataset: name, message: `commit ${describeCommit(c)}, dataset ${name}: ${(err as Error).message}` });
        continue;
      }
      await this.checkDataset(c, name, pointer);
    }
  }

  private readObjectSafely(oid: string): Uint8Array | undefined {
    try {
      const obj = this.git.objects.read(oid);
      if (!obj) {
        this.problem({ check: 'object', message: `commit ${oid} is missing from the git object store` });
        return undefined;
      }
      return obj.data;
    } catch (err) {
      this.problem({ check: 'object', message: `commit ${oid} cannot be read: ${(err as Error).message}` });
      return undefined;
    }
  }

  private async checkSignature(commitObject: Uint8Array): Promise<void> {
    const { verifyCommitSignature } = await import('../sign/commit-signing.js');
    const cur = this.current!;
    const o = this.options;
    const sig = verifyCommitSignature({ commitObject, allowedSigners: o.allowedSigners ?? NO_SIGNERS });
    cur.signature = { status: sig.status, reason: sig.reason, ...(sig.principal ? { principal: sig.principal } : {}), ...(sig.fingerprint ? { fingerprint: sig.fingerprint } : {}) };
    const where = `commit ${describeCommit({ oid: cur.commit, message: cur.subject })}`;
    switch (sig.status) {
      case 'good':
        this.report.totals.signaturesGood++;
        return;
      case 'bad':
        this.problem({ check: 'signature', message: `${where}: bad signature: ${sig.reason}` });
        return;
      case 'untrusted':
        if (o.requireSignatures || o.allowedSigners) this.problem({ check: 'signature', message: `${where}: signed by a key that is not allowed: ${sig.reason}` });
        return;
      case 'unsigned':
        if (o.requireSignatures) this.problem({ check: 'signature', message: `${where} is not signed (signatures are required)` });
        return;
      case 'unsupported':
        if (o.requireSignatures) this.problem({ check: 'signature', message: `${where}: ${sig.reason}` });
        return;
    }
  }

  /** The dataset's versions in the commit's parents (their roots), to diff against. */
  private async parentVersions(c: GitCommit, name: string): Promise<DatasetPointer[]> {
    const out: DatasetPointer[] = [];
    for (const p of c.parents) {
      try {
        const base = await this.git.pointerAt(p, name);
        if (base) out.push(base);
      } catch {
        /* unreadable parent: nothing to diff against */
      }
    }
    return out;
  }

  /**
   * A node, hash-checked: from the cache of nodes verified (or read for a diff) in this run, else read.
   * Undefined when it cannot be had (missing, corrupt or undecodable: the caller verifies around it).
   */
  private async loadMany(items: readonly { address: Uint8Array; hex: string }[]): Promise<(Node | undefined)[]> {
    const out: (Node | undefined)[] = items.map((i) => this.cache.get(i.hex));
    const missing = items.map((_, j) => j).filter((j) => !out[j]);
    for (let k = 0; k < missing.length; k += BATCH) {
      const part = missing.slice(k, k + BATCH);
      const reads = await this.reader.read(part.map((j) => items[j]!.address), { count: false });
      part.forEach((j, n) => {
        const bytes = reads[n]!.bytes;
        if (!bytes) return;
        try {
          const node = Node.decode(bytes, Uint8Array.from(items[j]!.address));
          this.cache.set(items[j]!.hex, node);
          out[j] = node;
        } catch {
          /* not a node: no use for the diff */
        }
      });
    }
    return out;
  }

  private async checkDataset(c: GitCommit, dataset: string, pointer: DatasetPointer): Promise<void> {
    const ctx = { commit: c.oid, dataset };
    const parents = await this.parentVersions(c, dataset);
    if (pointer.schema && !parents.some((p) => p.schema && compareBytes(p.schema, pointer.schema!) === 0)) {
      const hex = toHex(pointer.schema);
      if (!this.verified.has(hex)) {
        const [read] = await this.reader.read([pointer.schema]);
        if (read!.bytes) {
          this.verified.set(hex, { level: -1, count: 0, first: undefined, last: undefined });
          this.report.totals.schemas++;
          await this.checkRemote([{ address: pointer.schema, bytes: read!.bytes }], ctx);
        } else {
          this.verified.set(hex, null);
          this.problem({ ...ctx, chunk: hex, check: read!.check, message: `dataset ${dataset}, table schema: ${read!.message}` });
        }
      }
    }
    const rootHex = toHex(pointer.root);
    const known = this.verified.get(rootHex);
    if (known !== undefined || parents.some((p) => compareBytes(p.root, pointer.root) === 0)) {
      if (known && known.count !== pointer.count) this.problem({ ...ctx, chunk: rootHex, check: 'pointer', message: `dataset ${dataset}: the pointer says ${pointer.count} entries, its tree holds ${known.count}` });
      return;
    }
    // Every node of a parent's version is accounted for (verified in this run, or under the trusted
    // baseline of --from). Alongside the breadth-first walk of the new version, a frontier of each
    // parent's nodes covering the same key ranges is kept level by level: a child address found among
    // those nodes' children is shared with the parent and skipped. So the cost follows the change.
    let frontiers: Frontier[] = [];
    for (const p of parents) {
      const [root] = await this.loadMany([{ address: p.root, hex: toHex(p.root) }]);
      if (root) frontiers.push({ nodes: [{ node: root, lower: undefined, upper: undefined }] });
    }
    let level: { address: Uint8Array; hex: string; expect: Expectation | undefined }[] = [{ address: pointer.root, hex: rootHex, expect: undefined }];
    const blobs: BlobRef[] = [];
    let rootSummary: NodeSummary | undefined;
    while (level.length > 0) {
      const next: typeof level = [];
      let levelNumber = -1;
      let shared: Set<string> | undefined;
      for (let i = 0; i < level.length; i += BATCH) {
        const part = level.slice(i, i + BATCH);
        // Nodes the parent diff already read (hash-checked) come from the cache.
        const cached = part.map((p) => this.cache.get(p.hex));
        const uncached = part.filter((_, j) => !cached[j]);
        const fresh = uncached.length ? await this.reader.read(uncached.map((p) => p.address)) : [];
        let f = 0;
        const reads = part.map((_, j) => {
          const hit = cached[j];
          if (!hit) return fresh[f++]!;
          this.reader.bytesRead += hit.bytes.length;
          return { bytes: hit.bytes as Uint8Array, source: 'cache' };
        });
        const decoded: { item: (typeof part)[number]; node: Node; bytes: Uint8Array }[] = [];
        const good: { address: Uint8Array; bytes: Uint8Array }[] = [];
        for (let j = 0; j < part.length; j++) {
          const item = part[j]!;
          const read = reads[j]!;
          if (this.verified.has(item.hex)) continue; // reached twice within this level
          if (!read.bytes) {
            this.verified.set(item.hex, null);
            this.problem({ ...ctx, chunk: item.hex, check: read.check, message: `dataset ${dataset}: ${read.message}${describeParent(item.expect)}` });
            continue;
          }
          let node: Node;
          try {
            node = cached[j] ?? Node.decode(read.bytes, Uint8Array.from(item.address));
          } catch (err) {
            this.verified.set(item.hex, null);
            this.problem({ ...ctx, chunk: item.hex, check: 'decode', message: `dataset ${dataset}: ${(err as Error).message}` });
            continue;
          }
          this.cache.set(item.hex, node);
          const summary: NodeSummary = { level: node.level, count: node.totalCount, first: node.size ? Uint8Array.from(node.key(0)) : undefined, last: node.size ? Uint8Array.from(node.lastKey()) : undefined };
          const bad = item.expect ? mismatch(summary, item.expect) : undefined;
          if (bad) this.problem({ ...ctx, chunk: item.hex, check: 'structure', message: `dataset ${dataset}: node ${item.hex} ${bad}` });
          this.verified.set(item.hex, summary);
          if (!item.expect) rootSummary = summary;
          this.report.totals.nodes++;
          good.push({ address: item.address, bytes: read.bytes });
          decoded.push({ item, node, bytes: read.bytes });
          levelNumber = node.level;
        }
        // What the parents have at this level: their nodes' children, the candidates for sharing.
        if (!shared && levelNumber > 0) {
          const ranges = level.map((l) => ({ lower: l.expect?.lower, upper: l.expect?.last }));
          frontiers = await Promise.all(frontiers.map((fr) => this.descendTo(fr, levelNumber, ranges)));
          shared = new Set();
          for (const fr of frontiers) for (const pn of fr.nodes) if (pn.node.level === levelNumber) for (let k = 0; k < pn.node.size; k++) shared.add(childKey(pn.node, k));
        }
        for (const { item, node } of decoded) {
          if (node.level > 0) {
            for (let k = 0; k < node.size; k++) {
              const hex = childKey(node, k);
              if (shared?.has(hex)) continue;
              const expect = (): Expectation => ({ level: node.level - 1, count: node.childCount(k), last: node.key(k), lower: k > 0 ? node.key(k - 1) : item.expect?.lower, parent: item.hex, entry: k });
              const seen = this.verified.get(hex);
              if (seen !== undefined) {
                // Already verified elsewhere: its summary still has to fit this parent entry (checked
                // in place first — the common, matching case allocates nothing).
                if (seen && !fitsEntry(seen, node, k, item.expect?.lower)) {
                  const bad2 = mismatch(seen, expect());
                  if (bad2) this.problem({ ...ctx, chunk: hex, check: 'structure', message: `dataset ${dataset}: node ${hex} ${bad2}` });
                }
                continue;
              }
              next.push({ address: Uint8Array.from(node.childAddress(k)), hex, expect: expect() });
            }
          } else if (this.options.deep) {
            for (let k = 0; k < node.size; k++) {
              const v = node.value(k);
              if (v instanceof BlobRef) blobs.push(v);
            }
          }
        }
        await this.checkRemote(good, ctx);
      }
      level = dedupe(next);
    }
    if (rootSummary && rootSummary.count !== pointer.count) {
      this.problem({ ...ctx, chunk: rootHex, check: 'pointer', message: `dataset ${dataset}: the pointer says ${pointer.count} entries, its tree holds ${rootSummary.count}` });
    }
    for (const blob of blobs) await this.checkBlob(blob, ctx);
  }

  /**
   * Bring a parent's frontier down to `level`: replace nodes above it by their children whose key
   * ranges meet the new nodes being checked there (batched reads).
   */
  private async descendTo(fr: Frontier, level: number, ranges: readonly { lower: Uint8Array | undefined; upper: Uint8Array | undefined }[]): Promise<Frontier> {
    let nodes = fr.nodes;
    while (nodes.length > 0 && nodes[0]!.node.level > level) {
      const wanted: { address: Uint8Array; hex: string; lower: Uint8Array | undefined; upper: Uint8Array | undefined }[] = [];
      // Children and ranges are both in key order and ranges are disjoint: one sweep finds the overlaps.
      let r = 0;
      for (const pn of nodes) {
        for (let k = 0; k < pn.node.size; k++) {
          const lower = k > 0 ? pn.node.key(k - 1) : pn.lower;
          const upper = pn.node.key(k);
          while (r < ranges.length && ranges[r]!.upper !== undefined && lower !== undefined && compareBytes(ranges[r]!.upper!, lower) <= 0) r++;
          if (r < ranges.length && (ranges[r]!.lower === undefined || compareBytes(ranges[r]!.lower!, upper) < 0)) {
            wanted.push({ address: pn.node.childAddress(k), hex: childKey(pn.node, k), lower, upper });
          }
        }
      }
      const loaded = await this.loadMany(wanted);
      nodes = wanted.flatMap((w, j) => (loaded[j] ? [{ node: loaded[j]!, lower: w.lower, upper: w.upper }] : []));
    }
    return { nodes };
  }

  /** Every chunk of a blob: index nodes (decoded, levels and lengths consistent) and data chunks. */
  private async checkBlob(ref: BlobRef, ctx: { commit: string; dataset: string }): Promise<void> {
    const rootHex = toHex(ref.address);
    if (this.verified.has(rootHex)) return;
    let level: { address: Uint8Array; hex: string; length: number; index: number | undefined }[] = [{ address: ref.address, hex: rootHex, length: ref.length, index: -1 }];
    while (level.length > 0) {
      const next: typeof level = [];
      for (let i = 0; i < level.length; i += BATCH) {
        const part = level.slice(i, i + BATCH);
        const reads = await this.reader.read(part.map((p) => p.address));
        const good: { address: Uint8Array; bytes: Uint8Array }[] = [];
        for (let j = 0; j < part.length; j++) {
          const item = part[j]!;
          const read = reads[j]!;
          if (this.verified.has(item.hex)) continue;
          const what = `blob ${rootHex.slice(0, 16)}… (${ref.length} bytes), ${item.index === undefined ? 'data chunk' : 'index node'}`;
          if (!read.bytes) {
            this.verified.set(item.hex, null);
            this.problem({ ...ctx, chunk: item.hex, check: read.check, message: `dataset ${ctx.dataset}, ${what}: ${read.message}` });
            continue;
          }
          const summary = { level: -1, count: 0, first: undefined, last: undefined };
          if (item.index === undefined) {
            if (read.bytes.length !== item.length) {
              this.problem({ ...ctx, chunk: item.hex, check: 'structure', message: `dataset ${ctx.dataset}, ${what} ${item.hex} has ${read.bytes.length} bytes, its index entry says ${item.length}` });
            }
          } else {
            try {
              const node = decodeBlobIndexNode(read.bytes, item.address);
              if (node.totalLength !== item.length) {
                this.problem({ ...ctx, chunk: item.hex, check: 'structure', message: `dataset ${ctx.dataset}, ${what} ${item.hex} covers ${node.totalLength} bytes, its parent says ${item.length}` });
              }
              for (const e of node.entries) {
                const hex = toHex(e.address);
                if (!this.verified.has(hex)) next.push({ address: e.address, hex, length: e.length, index: node.level > 0 ? node.level - 1 : undefined });
              }
            } catch (err) {
              this.verified.set(item.hex, null);
              this.problem({ ...ctx, chunk: item.hex, check: 'decode', message: `dataset ${ctx.dataset}, ${what}: ${(err as Error).message}` });
              continue;
            }
          }
          this.verified.set(item.hex, summary);
          this.report.totals.blobChunks++;
          good.push({ address: item.address, bytes: read.bytes });
        }
        await this.checkRemote(good, ctx);
      }
      level = dedupe(next);
    }
  }

  private async checkRemote(chunks: { address: Uint8Array; bytes: Uint8Array }[], ctx: { commit: string; dataset: string }): Promise<void> {
    if (!this.remote || chunks.length === 0) return;
    let findings;
    try {
      findings = await this.remote.check(chunks);
    } catch (err) {
      throw new ProllyError(ErrorCodes.BACKEND, `could not check remote ${this.remote.name}: ${(err as Error).message}`, { remote: this.remote.name }, { cause: err });
    }
    this.report.totals.remoteChecked += chunks.length - findings.length;
    for (const f of findings) this.problem({ ...ctx, chunk: toHex(f.address), check: f.check, message: `dataset ${ctx.dataset}: ${f.message}` });
  }
}

/**
 * Hex of child k's address as a flat string (native encoder): these strings are hashed in Sets and
 * Maps many times per commit, and a string built by concatenation must be flattened first.
 */
function childKey(node: Node, k: number): string {
  return Buffer.from(node.bytes.buffer, node.bytes.byteOffset + node.keyEndOf(k), 32).toString('hex');
}

/** A parent's nodes at one level, with the key range (lower exclusive, upper inclusive) each covers. */
interface Frontier {
  nodes: { node: Node; lower: Uint8Array | undefined; upper: Uint8Array | undefined }[];
}

function dedupe<T extends { hex: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => (seen.has(i.hex) ? false : (seen.add(i.hex), true)));
}

/** The quick form of {@link mismatch} for entry `k` of `parent`: true when the summary fits. */
function fitsEntry(s: NodeSummary, parent: Node, k: number, inheritedLower: Uint8Array | undefined): boolean {
  if (s.level !== parent.level - 1 || s.count !== parent.childCount(k) || !s.last || parent.compareKey(k, s.last) !== 0) return false;
  if (!s.first) return true;
  if (k > 0) return parent.compareKey(k - 1, s.first) < 0;
  return !inheritedLower || compareBytes(s.first, inheritedLower) > 0;
}

/** Why a node does not fit its parent entry, or undefined when it does. */
function mismatch(s: NodeSummary, e: Expectation): string | undefined {
  const where = `(entry ${e.entry} of node ${e.parent.slice(0, 16)}…)`;
  if (s.level !== e.level) return `has level ${s.level}, but its parent entry ${where} expects level ${e.level}`;
  if (s.count !== e.count) return `holds ${s.count} entries, but its parent entry ${where} records ${e.count}`;
  if (!s.last || compareBytes(s.last, e.last) !== 0) return `ends at a key other than its parent entry's key ${where}: keys are misplaced`;
  if (e.lower && s.first && compareBytes(s.first, e.lower) <= 0) return `starts at a key not above the bound its parent entry implies ${where}: keys are misplaced`;
  return undefined;
}

function describeParent(e: Expectation | undefined): string {
  return e ? ` (child ${e.entry} of node ${e.parent.slice(0, 16)}…)` : ' (the dataset root)';
}
