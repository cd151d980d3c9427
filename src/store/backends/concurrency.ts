/**
 * Bounded parallelism for remote requests: enough in flight to hide latency, few enough not to
 * flood a server (s3rver, a small IPFS node) or hold too much memory.
 */

/**
 * Run `fn` over `items` with at most `limit` calls in flight. Results come back in input order;
 * after the first failure no new calls start, and that failure is thrown once running ones settle.
 *
 * @example
 * const sizes = await mapLimit(names, 4, async (n) => (await backend.head(n))?.size);
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failed) throw failed.error;
  return results;
}
