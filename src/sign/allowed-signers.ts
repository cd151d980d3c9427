/**
 * OpenSSH allowed_signers files (ssh-keygen(1) "ALLOWED SIGNERS"), the trust list git reads through
 * `gpg.ssh.allowedSignersFile`. One entry a line:
 *
 *   principal[,principal…] [option[,option…]] keytype base64-key [comment]
 *
 * Principals and `namespaces="…"` are OpenSSH pattern lists (`*` and `?` wildcards, `!` negation).
 * `valid-after` / `valid-before` (YYYYMMDD[HHMM[SS]], optional `Z` or `UTC` for UTC, else local time)
 * are honoured against the time passed in (git passes the committer date). `cert-authority` lines
 * are parsed but only ever match SSH certificates, which git-prolly does not verify, so they never
 * make a plain key trusted — the same outcome ssh-keygen gives for a plain key.
 */
import { promises as fsp } from 'node:fs';
import { ErrorCodes, ProllyError, invalidArgument } from '../errors.js';
import { formatSshPublicKey, parseSshPublicKey, sameSshPublicKey, type SshPublicKey } from './ssh-key.js';

/** One parsed line of an allowed-signers file. */
export interface AllowedSignerEntry {
  /** Principal patterns as listed (the comma-separated first field, split). */
  principals: string[];
  publicKey: SshPublicKey;
  /** Namespace patterns from `namespaces="…"`; undefined means any namespace. */
  namespaces?: string[];
  /** The line has `cert-authority`: its key signs certificates, it is not itself a signer key. */
  certAuthority: boolean;
  /** Seconds since the epoch from `valid-after`, if given. */
  validAfter?: number;
  /** Seconds since the epoch from `valid-before`, if given. */
  validBefore?: number;
  /** 1-based line number in the file. */
  line: number;
}

/** A parsed allowed-signers file. */
export interface AllowedSigners {
  /** File path or description, for messages. */
  source: string;
  entries: AllowedSignerEntry[];
}

/** What findAllowedPrincipals found for a key. */
export interface AllowedPrincipalsResult {
  /** Principals the key may sign for, in file order, without duplicates or negated patterns. */
  principals: string[];
  /** The entries that allowed the key. */
  entries: AllowedSignerEntry[];
  /** Why lines listing this key did not allow it (namespace, validity window, cert-authority). */
  notes: string[];
}

const KEY_TYPE_NAMES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ssh-dss',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

function isKeyTypeName(token: string): boolean {
  return KEY_TYPE_NAMES.has(token) || token.endsWith('-cert-v01@openssh.com');
}

/**
 * OpenSSH match_pattern: `*` any run of characters, `?` any one character, case-sensitive.
 * @example matchPattern('me@example.com', '*@example.com') // true
 */
export function matchPattern(value: string, pattern: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 's');
  return re.test(value);
}

/**
 * OpenSSH match_pattern_list: 1 if some pattern matches and no `!negated` one does, -1 if a
 * negated pattern matches, 0 if nothing matches.
 * @example matchPatternList('a@x.org', ['*@x.org', '!b@x.org']) // 1
 */
export function matchPatternList(value: string, patterns: readonly string[]): 1 | 0 | -1 {
  let positive = false;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    if (matchPattern(value, negated ? p.slice(1) : p)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/** OpenSSH parse_absolute_time: YYYYMMDD[HHMM[SS]] with optional Z/UTC suffix; local time otherwise. */
function parseAbsoluteTime(text: string): number | undefined {
  let s = text;
  let utc = false;
  if (s.length > 1 && /z$/i.test(s)) {
    utc = true;
    s = s.slice(0, -1);
  } else if (s.length > 3 && /utc$/i.test(s)) {
    utc = true;
    s = s.slice(0, -3);
  }
  if (!/^\d+$/.test(s) || (s.length !== 8 && s.length !== 12 && s.length !== 14)) return undefined;
  const n = (a: number, b: number) => Number(s.slice(a, b) || '0');
  const [y, mo, d, h, mi, se] = [n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14)];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return undefined;
  const ms = utc ? Date.UTC(y, mo - 1, d, h, mi, se) : new Date(y, mo - 1, d, h, mi, se).getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/** Reads the principals field, which may be double-quoted (OpenSSH strdelimw). */
function takeField(s: string): { field: string; rest: string } | undefined {
  if (s.startsWith('"')) {
    const end = s.indexOf('"', 1);
    if (end < 0) return undefined;
    return { field: s.slice(1, end), rest: s.slice(end + 1) };
  }
  const m = /^(\S+)(.*)$/s.exec(s);
  return m ? { field: m[1]!, rest: m[2]! } : undefined;
}

/** Splits the options field off: it runs to the first space or tab outside double quotes. */
function takeOptions(s: string): { options: string; rest: string } {
  let quoted = false;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (!quoted && (c === ' ' || c === '\t')) break;
    if (c === '\\' && s[i + 1] === '"') i++;
    else if (c === '"') quoted = !quoted;
  }
  return { options: s.slice(0, i), rest: s.slice(i) };
}

interface ParsedOptions {
  namespaces?: string[];
  certAuthority: boolean;
  validAfter?: number;
  validBefore?: number;
}

/** OpenSSH sshsigopt_parse: comma-separated, case-insensitive names, quoted values. */
function parseOptions(text: string, fail: (m: string) => ProllyError): ParsedOptions {
  const out: ParsedOptions = { certAuthority: false };
  let s = text;
  const dequote = (name: string): string => {
    if (!s.startsWith('"')) throw fail(`option ${name}: missing start quote`);
    let value = '';
    let i = 1;
    for (; i < s.length && s[i] !== '"'; i++) {
      if (s[i] === '\\' && s[i + 1] === '"') i++;
      value += s[i];
    }
    if (i >= s.length) throw fail(`option ${name}: missing end quote`);
    s = s.slice(i + 1);
    return value;
  };
  while (s.length > 0) {
    const lower = s.toLowerCase();
    if (lower.startsWith('cert-authority') && (s.length === 14 || s[14] === ',')) {
      out.certAuthority = true;
      s = s.slice(14);
    } else if (lower.startsWith('namespaces=')) {
      if (out.namespaces) throw fail('multiple "namespaces" options');
      s = s.slice(11);
      out.namespaces = dequote('namespaces').split(',');
    } else if (lower.startsWith('valid-after=') || lower.startsWith('valid-before=')) {
      const name = lower.startsWith('valid-after=') ? 'valid-after' : 'valid-before';
      const key = name === 'valid-after' ? 'validAfter' : 'validBefore';
      if (out[key] !== undefined) throw fail(`multiple "${name}" options`);
      s = s.slice(name.length + 1);
      const value = dequote(name);
      const t = parseAbsoluteTime(value);
      if (t === undefined || t === 0) throw fail(`invalid "${name}" time ${JSON.stringify(value)} (want YYYYMMDD[HHMM[SS]][Z])`);
      out[key] = t;
    } else {
      throw fail(`unknown option ${JSON.stringify(s.split(',')[0])} (known: cert-authority, namespaces, valid-after, valid-before)`);
    }
    if (s.length === 0) break;
    if (s[0] !== ',') throw fail(`unknown option text ${JSON.stringify(s)}`);
    s = s.slice(1);
    if (s.length === 0) throw fail('unexpected end of options after ","');
  }
  if (out.validAfter !== undefined && out.validBefore !== undefined && out.validBefore <= out.validAfter) {
    throw fail('"valid-before" time is not after "valid-after"');
  }
  return out;
}

/**
 * Parse allowed-signers text. Blank lines and `#` comments are skipped; a malformed line throws
 * EALLOWEDSIGNERS naming `source` and the line number.
 * @example parseAllowedSigners('me@example.com namespaces="git" ssh-ed25519 AAAA…\n', { source: 'allowed_signers' })
 */
export function parseAllowedSigners(text: string, options: { source?: string } = {}): AllowedSigners {
  const source = options.source ?? 'allowed signers';
  const entries: AllowedSignerEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const fail = (m: string) => new ProllyError(ErrorCodes.BAD_ALLOWED_SIGNERS, `${source}:${lineNo}: ${m}`, { source, line: lineNo });
    const line = lines[i]!.replace(/\r$/, '').replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const first = takeField(line);
    if (!first || !/^[ \t]/.test(first.rest)) throw fail('expected "principals [options] keytype base64-key"');
    let rest = first.rest.replace(/^[ \t]+/, '');
    let opts: ParsedOptions = { certAuthority: false };
    const nextToken = /^\S*/.exec(rest)![0];
    if (!isKeyTypeName(nextToken)) {
      const split = takeOptions(rest);
      opts = parseOptions(split.options, fail);
      rest = split.rest.replace(/^[ \t]+/, '');
      if (rest === '') throw fail('missing key after the options');
    }
    let publicKey: SshPublicKey;
    try {
      publicKey = parseSshPublicKey(rest, { source: `${source}:${lineNo}` });
    } catch (e) {
      throw fail(`invalid key: ${e instanceof Error ? e.message : String(e)}`);
    }
    const entry: AllowedSignerEntry = { principals: first.field.split(','), publicKey, certAuthority: opts.certAuthority, line: lineNo };
    if (opts.namespaces) entry.namespaces = opts.namespaces;
    if (opts.validAfter !== undefined) entry.validAfter = opts.validAfter;
    if (opts.validBefore !== undefined) entry.validBefore = opts.validBefore;
    entries.push(entry);
  }
  return { source, entries };
}

/**
 * Read and parse an allowed-signers file; errors name the file and line.
 * @example const signers = await readAllowedSignersFile('.prolly/allowed_signers');
 */
export async function readAllowedSignersFile(path: string): Promise<AllowedSigners> {
  return parseAllowedSigners(await fsp.readFile(path, 'utf8'), { source: path });
}

function toSeconds(at: Date | number | undefined): number {
  if (at === undefined) return Math.floor(Date.now() / 1000);
  return typeof at === 'number' ? at : Math.floor(at.getTime() / 1000);
}

/** Why an entry that lists the key does not allow it, or undefined if it does. */
function entryRefusal(entry: AllowedSignerEntry, namespace: string, when: number): string | undefined {
  if (entry.certAuthority) return `line ${entry.line}: cert-authority key (only signs certificates, which are not supported)`;
  if (entry.namespaces && matchPatternList(namespace, entry.namespaces) !== 1) {
    return `line ${entry.line}: key is not allowed for namespace ${JSON.stringify(namespace)}`;
  }
  if (entry.validAfter !== undefined && when < entry.validAfter) return `line ${entry.line}: key is not yet valid at ${new Date(when * 1000).toISOString()}`;
  if (entry.validBefore !== undefined && when > entry.validBefore) return `line ${entry.line}: key had expired at ${new Date(when * 1000).toISOString()}`;
  return undefined;
}

/**
 * Which principals may sign in `namespace` with `publicKey` (ssh-keygen -Y find-principals, plus
 * the namespace check -Y verify does). `at` is the signing time checked against valid-after /
 * valid-before (git uses the committer date); default now.
 * @example findAllowedPrincipals({ allowedSigners, publicKey, namespace: 'git' }).principals // ['me@example.com']
 */
export function findAllowedPrincipals(options: {
  allowedSigners: AllowedSigners;
  publicKey: SshPublicKey;
  namespace: string;
  at?: Date | number;
}): AllowedPrincipalsResult {
  const when = toSeconds(options.at);
  const result: AllowedPrincipalsResult = { principals: [], entries: [], notes: [] };
  for (const entry of options.allowedSigners.entries) {
    if (!sameSshPublicKey(entry.publicKey, options.publicKey)) continue;
    const refusal = entryRefusal(entry, options.namespace, when);
    if (refusal) {
      result.notes.push(`${options.allowedSigners.source}: ${refusal}`);
      continue;
    }
    result.entries.push(entry);
    for (const p of entry.principals) if (!p.startsWith('!') && !result.principals.includes(p)) result.principals.push(p);
  }
  return result;
}

/**
 * Whether `principal` may sign in `namespace` with `publicKey` (ssh-keygen -Y verify -I principal).
 * @example isAllowedSigner({ allowedSigners, principal: 'me@example.com', publicKey, namespace: 'git' }).allowed
 */
export function isAllowedSigner(options: {
  allowedSigners: AllowedSigners;
  principal: string;
  publicKey: SshPublicKey;
  namespace: string;
  at?: Date | number;
}): { allowed: boolean; reason: string } {
  const when = toSeconds(options.at);
  const notes: string[] = [];
  for (const entry of options.allowedSigners.entries) {
    if (matchPatternList(options.principal, entry.principals) !== 1) continue;
    if (!sameSshPublicKey(entry.publicKey, options.publicKey)) continue;
    const refusal = entryRefusal(entry, options.namespace, when);
    if (!refusal) return { allowed: true, reason: `${options.allowedSigners.source}: line ${entry.line} allows ${options.principal}` };
    notes.push(refusal);
  }
  return {
    allowed: false,
    reason: notes.length
      ? `${options.allowedSigners.source}: ${notes.join('; ')}`
      : `${options.allowedSigners.source}: no line allows ${JSON.stringify(options.principal)} with this key`,
  };
}

/**
 * The allowed-signers line for a signer: `<principal> namespaces="git" ssh-ed25519 AAAA…`.
 * @example formatAllowedSignersLine({ principal: 'me@example.com', publicKey: sshPublicKeyOf(key) })
 */
export function formatAllowedSignersLine(options: {
  principal: string | readonly string[];
  publicKey: SshPublicKey;
  namespaces?: readonly string[];
}): string {
  const principals = typeof options.principal === 'string' ? [options.principal] : options.principal;
  const namespaces = options.namespaces ?? ['git'];
  if (principals.length === 0) throw invalidArgument('allowed-signers line needs at least one principal');
  for (const p of principals) {
    if (p === '' || /[\s",]/.test(p) || p.startsWith('#')) {
      throw invalidArgument(`principal ${JSON.stringify(p)} cannot go in an allowed-signers file (no spaces, quotes, commas or leading #)`);
    }
  }
  for (const n of namespaces) {
    if (n === '' || /[\s",\\]/.test(n)) throw invalidArgument(`namespace ${JSON.stringify(n)} cannot go in an allowed-signers file`);
  }
  const opts = namespaces.length ? ` namespaces="${namespaces.join(',')}"` : '';
  return `${principals.join(',')}${opts} ${formatSshPublicKey(options.publicKey, { comment: '' })}`;
}
