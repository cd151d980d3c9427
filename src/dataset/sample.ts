import { mulberry32 as prng } from '../util/prng.js';
/**
 * The sample dataset used by the demo and the tests (fixtures/sample/users.csv is this function's
 * output, checked by a test): deterministic pseudo-random users, with a few names that need CSV
 * quoting (commas, quotes) so the sample exercises the parser too.
 */

const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'Edsger', 'Radia', 'Donald', 'Hedy', 'John', 'Katherine', 'Niklaus', 'Sophie', 'Tim', 'Shafi', 'Leslie'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Allen', 'Dijkstra', 'Perlman', 'Knuth', 'Lamarr', 'McCarthy', 'Johnson', 'Wirth', 'Wilson', 'Berners-Lee', 'Goldwasser', 'Lamport'];
const COUNTRIES = ['DE', 'FR', 'GB', 'US', 'IN', 'JP', 'BR', 'NG', 'SE', 'CA'];
const PLANS = ['free', 'free', 'free', 'pro', 'pro', 'team'];


function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The sample users table as CSV text (header `id,name,email,country,signup_date,plan,score`; ids
 * `u00001`…). Same arguments, same bytes.
 * @example writeFileSync('users.csv', sampleUsersCsv({ rows: 3000 }))
 */
export function sampleUsersCsv(options: { rows?: number; seed?: number } = {}): string {
  const rows = options.rows ?? 3000;
  const rnd = prng(options.seed ?? 20240601);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const lines = ['id,name,email,country,signup_date,plan,score'];
  const start = Date.UTC(2020, 0, 1);
  for (let i = 1; i <= rows; i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    // Every 97th user has a name with a comma and quotes, which CSV must quote.
    const name = i % 97 === 0 ? `${last}, ${first} "${first.slice(0, 2)}"` : `${first} ${last}`;
    const id = `u${String(i).padStart(5, '0')}`;
    const email = `${first}.${last}.${i}@example.org`.toLowerCase();
    const day = new Date(start + Math.floor(rnd() * 1500) * 86_400_000).toISOString().slice(0, 10);
    const score = (rnd() * 100).toFixed(1);
    lines.push([id, name, email, pick(COUNTRIES), day, pick(PLANS), score].map(csvCell).join(','));
  }
  return lines.join('\n') + '\n';
}
