/**
 * The oracle data set: the same SQL script loads SQLite and git-prolly. Deterministic, with NULLs in
 * most columns, negative and fractional numbers, non-ASCII text, a composite primary key (items) and a
 * table without one (notes).
 */
import { mulberry32 } from '../../src/util/prng.js';

const rng = mulberry32;

const COUNTRIES = ['DE', 'FR', 'US', 'JP', 'BR', null];
const STATUSES = ['new', 'paid', 'shipped', 'cancelled', null];
const FIRST = ['Ada', 'alan', 'Grace', 'Édith', 'Zoë', 'bob', 'Ünal', 'Chen', 'Ola', 'Max', 'ada'];
const SKUS = ['A-1', 'B-2', 'C-3', 'D-4', 'E-5', 'a-1'];

function lit(v: unknown): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return `'${v.replace(/'/g, "''")}'`;
  return String(v);
}

/** The DDL and INSERT statements of the data set (valid in SQLite and git-prolly). */
export function oracleScript(): string {
  const r = rng(1234);
  const out: string[] = [
    'CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT, signup DATE, credit REAL)',
    'CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL, qty INTEGER, status TEXT, day DATE)',
    'CREATE TABLE items (order_id INTEGER NOT NULL, line INTEGER NOT NULL, sku TEXT, price REAL, PRIMARY KEY (order_id, line))',
    'CREATE TABLE notes (customer_id INTEGER, note TEXT)',
  ];
  const customers: string[] = [];
  for (let id = 1; id <= 120; id++) {
    const name = `${FIRST[id % FIRST.length]} ${String.fromCharCode(65 + (id % 26))}${id % 7 === 0 ? "'s" : ''}`;
    const country = COUNTRIES[Math.floor(r() * COUNTRIES.length)]!;
    const signup = r() < 0.1 ? null : `2023-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`;
    const credit = r() < 0.15 ? null : Math.round((r() * 2000 - 500) * 100) / 100;
    customers.push(`(${id}, ${lit(name)}, ${lit(country)}, ${lit(signup)}, ${lit(credit)})`);
  }
  out.push(`INSERT INTO customers VALUES ${customers.join(', ')}`);
  const orders: string[] = [];
  for (let id = 1; id <= 1500; id++) {
    const customer = r() < 0.05 ? null : 1 + Math.floor(r() * 130); // some point at no customer
    const amount = r() < 0.1 ? null : Math.round((r() * 1000 - 50) * 100) / 100;
    const qty = r() < 0.05 ? null : Math.floor(r() * 12) - 1;
    const status = STATUSES[Math.floor(r() * STATUSES.length)]!;
    const day = `2024-${String(1 + Math.floor(r() * 6)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`;
    orders.push(`(${id}, ${lit(customer)}, ${lit(amount)}, ${lit(qty)}, ${lit(status)}, ${lit(day)})`);
  }
  out.push(`INSERT INTO orders VALUES ${orders.join(', ')}`);
  const items: string[] = [];
  for (let o = 1; o <= 600; o++) {
    const lines = Math.floor(r() * 4);
    for (let line = 1; line <= lines; line++) {
      const sku = r() < 0.05 ? null : SKUS[Math.floor(r() * SKUS.length)]!;
      const price = Math.round(r() * 5000) / 100;
      items.push(`(${o}, ${line}, ${lit(sku)}, ${lit(price)})`);
    }
  }
  out.push(`INSERT INTO items VALUES ${items.join(', ')}`);
  const notes: string[] = [];
  for (let i = 0; i < 200; i++) notes.push(`(${r() < 0.1 ? 'NULL' : 1 + Math.floor(r() * 120)}, ${lit(`note ${i} ${['ok', 'late', 'gift', 'übergröße', '😀 emoji'][i % 5]}`)})`);
  out.push(`INSERT INTO notes (customer_id, note) VALUES ${notes.join(', ')}`);
  return out.join(';\n') + ';\n';
}

/** An oracle query: `ordered` when its ORDER BY fixes the row order completely. */
export interface OracleQuery {
  sql: string;
  ordered: boolean;
}

const q = (sql: string, ordered = true): OracleQuery => ({ sql, ordered });

/** Queries run on both engines; results must match. */
export const ORACLE_QUERIES: OracleQuery[] = [
  // Point, IN and range reads on keys
  q('SELECT * FROM customers ORDER BY id'),
  q('SELECT * FROM orders WHERE id = 17'),
  q('SELECT * FROM orders WHERE id = 99999'),
  q('SELECT id, amount FROM orders WHERE id IN (3, 5, 8, 1000, 99999) ORDER BY id'),
  q('SELECT id FROM orders WHERE id BETWEEN 100 AND 120 ORDER BY id'),
  q('SELECT id FROM orders WHERE id > 1490 ORDER BY id DESC'),
  q('SELECT id FROM orders WHERE id >= 10.5 AND id < 14.2 ORDER BY id'),
  q('SELECT id FROM orders WHERE id = 3 OR id = 7 OR id = 1400 ORDER BY id'),
  q('SELECT * FROM items WHERE order_id = 42 ORDER BY line'),
  q('SELECT * FROM items WHERE order_id = 42 AND line >= 2 ORDER BY line'),
  q('SELECT order_id, line, price FROM items WHERE order_id BETWEEN 10 AND 12 ORDER BY order_id, line'),
  q('SELECT COUNT(*) AS n FROM items WHERE line = 2'),
  // Filters and NULL handling
  q('SELECT id, amount FROM orders WHERE amount > 500.5 ORDER BY amount DESC, id LIMIT 10'),
  q('SELECT id FROM orders WHERE amount IS NULL ORDER BY id'),
  q('SELECT id, qty FROM orders WHERE amount IS NOT NULL AND qty < 1 ORDER BY id'),
  q("SELECT COUNT(*) AS n FROM orders WHERE status <> 'shipped'"),
  q("SELECT COUNT(*) AS n FROM orders WHERE NOT (status = 'shipped')"),
  q("SELECT id FROM orders WHERE status IN ('new', 'cancelled') AND id < 60 ORDER BY id"),
  q("SELECT COUNT(*) AS n FROM orders WHERE status NOT IN ('new')"),
  q("SELECT id, name FROM customers WHERE name LIKE 'ada%' ORDER BY id"),
  q("SELECT COUNT(*) AS n FROM orders WHERE amount < -10 OR qty = -1"),
  q('SELECT COUNT(*) AS n FROM orders WHERE amount BETWEEN 10.25 AND 99.75'),
  q("SELECT id FROM orders WHERE day >= '2024-03-01' AND day < '2024-03-08' ORDER BY id"),
  // Aggregates
  q('SELECT COUNT(*) AS n, COUNT(amount) AS with_amount, COUNT(status) AS with_status FROM orders'),
  q('SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY status'),
  q('SELECT status, SUM(amount) AS s, AVG(amount) AS a, MIN(amount) AS mi, MAX(amount) AS ma FROM orders GROUP BY status ORDER BY status'),
  q('SELECT SUM(qty) AS s, MIN(qty) AS mi, MAX(amount) AS ma FROM orders WHERE id < 0'),
  q('SELECT MIN(name) AS first_name, MAX(name) AS last_name FROM customers'),
  q('SELECT MIN(signup) AS first_day, MAX(signup) AS last_day FROM customers'),
  q('SELECT COUNT(DISTINCT country) AS n FROM customers'),
  q('SELECT country, COUNT(*) AS n FROM customers GROUP BY country HAVING COUNT(*) > 20 ORDER BY country'),
  q('SELECT customer_id, SUM(qty) AS total_qty FROM orders GROUP BY customer_id ORDER BY total_qty DESC, customer_id LIMIT 5'),
  q('SELECT SUM(qty) / COUNT(qty) AS int_avg, SUM(qty) AS s, COUNT(qty) AS c FROM orders'),
  q('SELECT id, qty / 2 AS half, qty % 3 AS rest, qty * 2 - 1 AS calc FROM orders WHERE id <= 25 ORDER BY id'),
  q('SELECT id, amount * 2 AS doubled, amount / 4 AS quarter FROM orders WHERE id <= 25 ORDER BY id'),
  q('SELECT day, COUNT(*) AS n, SUM(qty) AS q FROM orders GROUP BY day ORDER BY day LIMIT 7'),
  q('SELECT customer_id, COUNT(*) AS n FROM notes GROUP BY customer_id ORDER BY customer_id'),
  // Joins
  q('SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id <= 30 ORDER BY o.id'),
  q('SELECT COUNT(*) AS n FROM orders o JOIN customers c ON c.id = o.customer_id'),
  q('SELECT c.id, COUNT(o.id) AS n, SUM(o.amount) AS total FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id ORDER BY c.id'),
  q('SELECT c.country, COUNT(i.line) AS lines, SUM(i.price) AS value FROM customers c JOIN orders o ON o.customer_id = c.id JOIN items i ON i.order_id = o.id GROUP BY c.country ORDER BY c.country'),
  q('SELECT a.id, b.id AS other FROM customers a JOIN customers b ON b.id = a.id + 1 WHERE a.id < 10 ORDER BY a.id'),
  q('SELECT o.id, c.name FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE o.id BETWEEN 200 AND 260 ORDER BY o.id'),
  q('SELECT o.id, o.amount, c.credit FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.amount DESC, o.id LIMIT 5 OFFSET 3'),
  q('SELECT i.sku, COUNT(*) AS n FROM items i JOIN orders o ON o.id = i.order_id WHERE o.status = \'paid\' GROUP BY i.sku ORDER BY i.sku'),
  // Subqueries
  q("SELECT id FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE country = 'FR') AND id < 200 ORDER BY id"),
  q('SELECT c.id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.amount > 900) ORDER BY c.id'),
  q('SELECT id, (SELECT COUNT(*) FROM items i WHERE i.order_id = orders.id) AS lines FROM orders WHERE id <= 15 ORDER BY id'),
  q('SELECT t.status, t.n FROM (SELECT status, COUNT(*) AS n FROM orders GROUP BY status) AS t WHERE t.n > 250 ORDER BY t.status'),
  q('SELECT id FROM customers WHERE id NOT IN (SELECT customer_id FROM orders WHERE customer_id IS NOT NULL) ORDER BY id'),
  q('SELECT MAX(amount) AS m FROM orders WHERE amount < (SELECT AVG(amount) FROM orders)'),
  q('SELECT COUNT(*) AS n FROM customers WHERE id NOT IN (SELECT customer_id FROM orders WHERE id < 100)'),
  q('SELECT COUNT(*) AS n FROM customers c WHERE c.id NOT IN (SELECT o.qty FROM orders o WHERE o.customer_id = c.id)'),
  // Ordering
  q('SELECT id, amount FROM orders WHERE id <= 40 ORDER BY amount, id'),
  q('SELECT id, amount FROM orders WHERE id <= 40 ORDER BY amount DESC, id'),
  q('SELECT id, country, name FROM customers ORDER BY country, name, id'),
  q('SELECT name FROM customers ORDER BY name DESC, id LIMIT 12'),
  q('SELECT DISTINCT country FROM customers ORDER BY country'),
  q('SELECT id FROM orders ORDER BY id LIMIT 5 OFFSET 10'),
  q('SELECT DISTINCT status FROM orders', false),
  // Expressions
  q("SELECT id, CASE WHEN amount > 500 THEN 'big' WHEN amount IS NULL THEN 'none' ELSE 'small' END AS size FROM orders WHERE id <= 30 ORDER BY id"),
  q("SELECT id, COALESCE(status, 'unknown') AS s, IFNULL(qty, 0) AS q, NULLIF(qty, 0) AS nz FROM orders WHERE id <= 30 ORDER BY id"),
  q("SELECT id, name || ' (' || country || ')' AS label FROM customers WHERE id <= 20 ORDER BY id"),
  q("SELECT order_id, line, UPPER(sku) AS u, LOWER(sku) AS l, LENGTH(sku) AS n, SUBSTR(sku, 1, 1) AS first FROM items WHERE order_id < 6 ORDER BY order_id, line"),
  q('SELECT id, ABS(qty - 5) AS d FROM orders WHERE id <= 20 ORDER BY id'),
  q('SELECT id FROM customers WHERE credit > 100 AND credit < 200 ORDER BY credit, id'),
  q('SELECT id, ROUND(amount) AS r0, ROUND(amount, 1) AS r1, CAST(amount AS INTEGER) AS i FROM orders WHERE id <= 60 ORDER BY id'),
  q('SELECT note, LENGTH(note) AS n, SUBSTR(note, -5, 3) AS tail, INSTR(note, \'e\') AS e FROM notes WHERE customer_id < 30 ORDER BY note'),
  q('SELECT id, amount FROM orders WHERE id <= 30 ORDER BY amount NULLS LAST, id'),
  q('SELECT id, amount FROM orders WHERE id <= 30 ORDER BY amount DESC NULLS FIRST, id'),
  q('SELECT note FROM notes ORDER BY note LIMIT 15'),
  // Set operations and the table without a primary key
  q("SELECT id FROM orders WHERE id < 5 UNION SELECT id FROM customers WHERE id < 8 ORDER BY id"),
  q('SELECT customer_id FROM notes WHERE customer_id < 20 UNION ALL SELECT id FROM customers WHERE id < 3', false),
  q('SELECT note FROM notes WHERE customer_id = 7 ORDER BY note'),
];
