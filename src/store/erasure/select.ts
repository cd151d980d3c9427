/**
 * Choosing backends for a pack's shards (or replicas): random or weighted, never the same backend
 * twice, and at most `maxPerProvider` on backends of one provider (so losing one cloud provider
 * loses at most that many shards).
 */
import { ErrorCodes, ProllyError } from '../../errors.js';

/** A backend as selection sees it. */
export interface Candidate {
  id: string;
  /** Provider label (e.g. 'aws', 'gcp', 'ipfs'); backends without one are not limited. */
  provider?: string;
  /** Relative share of placements under 'weighted' (default 1). */
  weight?: number;
}

export type SelectionStrategy = 'random' | 'weighted' | 'ordered';

export interface SelectOptions<C extends Candidate> {
  candidates: readonly C[];
  count: number;
  strategy?: SelectionStrategy;
  /** Ids that must not be chosen (already holding a shard of this object). */
  exclude?: ReadonlySet<string>;
  /** Shards already placed per provider (repair adds to an existing placement). */
  providerCounts?: ReadonlyMap<string, number>;
  maxPerProvider?: number;
  /** Source of randomness in [0, 1) (tests pass a seeded one). */
  random?: () => number;
}

/**
 * `count` distinct candidates. Throws EINVAL when the constraints leave fewer than `count`.
 * @example selectBackends({ candidates, count: 14, strategy: 'weighted', maxPerProvider: 4 })
 */
export function selectBackends<C extends Candidate>(opts: SelectOptions<C>): C[] {
  const random = opts.random ?? Math.random;
  const pool = opts.candidates.filter((c) => !opts.exclude?.has(c.id));
  let order: C[];
  switch (opts.strategy ?? 'random') {
    case 'ordered':
      order = [...pool];
      break;
    case 'weighted':
      // Efraimidis–Spirakis: sort by u^(1/w) descending = weighted sampling without replacement.
      order = pool
        .map((c) => ({ c, key: Math.pow(random(), 1 / Math.max(1e-9, c.weight ?? 1)) }))
        .sort((a, b) => b.key - a.key)
        .map((x) => x.c);
      break;
    default:
      order = [...pool];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
  }
  const perProvider = new Map(opts.providerCounts ?? []);
  const max = opts.maxPerProvider ?? Infinity;
  const chosen: C[] = [];
  for (const c of order) {
    if (chosen.length === opts.count) break;
    if (c.provider !== undefined) {
      const n = perProvider.get(c.provider) ?? 0;
      if (n >= max) continue;
      perProvider.set(c.provider, n + 1);
    }
    chosen.push(c);
  }
  if (chosen.length < opts.count) {
    throw new ProllyError(
      ErrorCodes.INVALID_ARGUMENT,
      `cannot place ${opts.count} shards on distinct backends: only ${chosen.length} of ${opts.candidates.length} are eligible` +
        (Number.isFinite(max) ? ` (at most ${max} per provider)` : ''),
      { needed: opts.count, eligible: chosen.length },
    );
  }
  return chosen;
}
