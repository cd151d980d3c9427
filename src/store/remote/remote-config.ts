/**
 * `git prolly remote add|remove`: edit the [[storage.backends]] list of `.prolly/config.toml` as
 * text, so the user's comments and layout survive; the result is parsed and validated before it is
 * written, so a bad edit never lands.
 */
import type { BackendConfig } from '../../config/config.js';
import { parseConfig } from '../../config/config.js';
import { ErrorCodes, ProllyError, invalidArgument } from '../../errors.js';

/** Settings `remote add` accepts besides the location. */
export interface RemoteAddOptions {
  /** Force the backend type when the location does not say it (e.g. an http URL of an IPFS node). */
  type?: BackendConfig['type'];
  endpoint?: string;
  region?: string;
  storageClass?: string;
  maxAgeDays?: number;
}

/**
 * A backend entry from a location:
 * `s3://bucket/prefix`, `ipfs://host:port` (or `ipfs+http://…`, `ipfs+https://…`), a directory path
 * or `file:///path`; an `http(s)://` URL with `type: 'ipfs'` is an IPFS RPC API.
 *
 * @example
 * backendFromLocation('archive', 's3://my-data/team-a', { region: 'eu-west-1' })
 * // { name: 'archive', type: 's3', bucket: 'my-data', prefix: 'team-a', region: 'eu-west-1' }
 */
export function backendFromLocation(name: string, location: string, opts: RemoteAddOptions = {}): BackendConfig {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  const ipfs = /^ipfs(?:\+(https?))?:\/\/(.+)$/.exec(location);
  let b: BackendConfig;
  if (s3 && (!opts.type || opts.type === 's3')) {
    b = { name, type: 's3', bucket: s3[1]!, ...(s3[2] ? { prefix: s3[2].replace(/\/+$/, '') } : {}) };
    if (opts.endpoint) b.endpoint = opts.endpoint;
    if (opts.region) b.region = opts.region;
    if (opts.storageClass) b.storage_class = opts.storageClass;
  } else if (ipfs || (opts.type === 'ipfs' && /^https?:\/\//.test(location))) {
    b = { name, type: 'ipfs', endpoint: ipfs ? `${ipfs[1] ?? 'http'}://${ipfs[2]}` : location };
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location) && !location.startsWith('file://')) {
    throw invalidArgument(`cannot tell what kind of remote ${JSON.stringify(location)} is: use s3://bucket/prefix, ipfs://host:port, or a directory path`, { location });
  } else {
    if (opts.type && opts.type !== 'local') throw invalidArgument(`${JSON.stringify(location)} is a directory, not a ${opts.type} location`, { location });
    b = { name, type: 'local', path: location.startsWith('file://') ? decodeURIComponent(new URL(location).pathname) : location };
  }
  if (opts.maxAgeDays !== undefined) b.max_age_days = opts.maxAgeDays;
  return b;
}

const KEY_ORDER: (keyof BackendConfig)[] = ['name', 'type', 'path', 'bucket', 'region', 'endpoint', 'prefix', 'storage_class', 'max_age_days'];

/**
 * The TOML block of one backend.
 * @example backendToml({ name: 'share', type: 'local', path: '/mnt/share' }) // '[[storage.backends]]\nname = "share"\n…'
 */
export function backendToml(b: BackendConfig): string {
  let out = '[[storage.backends]]\n';
  for (const k of KEY_ORDER) {
    const v = b[k];
    if (v === undefined) continue;
    out += `${k} = ${typeof v === 'number' ? String(v) : JSON.stringify(v)}\n`;
  }
  return out;
}

/** Line ranges [start, end) of each [[storage.backends]] block and the name written in it. */
function backendBlocks(lines: string[]): { start: number; end: number; name: string | undefined }[] {
  const blocks: { start: number; end: number; name: string | undefined }[] = [];
  let current: { start: number; end: number; name: string | undefined } | undefined;
  lines.forEach((line, i) => {
    if (/^\s*\[/.test(line)) {
      if (current) {
        current.end = trimTrailingComments(lines, current.start, i);
        blocks.push(current);
        current = undefined;
      }
      if (/^\s*\[\[\s*storage\.backends\s*\]\]/.test(line)) current = { start: i, end: lines.length, name: undefined };
      return;
    }
    const m = current && /^\s*name\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')/.exec(line);
    if (current && m && current.name === undefined) current.name = m[1] !== undefined ? (JSON.parse(`"${m[1]}"`) as string) : m[2];
  });
  if (current) {
    current.end = lines.length;
    blocks.push(current);
  }
  return blocks;
}

/** Comment and blank lines just above the next header belong to it, not to the block before. */
function trimTrailingComments(lines: string[], start: number, nextHeader: number): number {
  let end = nextHeader;
  while (end - 1 > start && /^\s*(#.*)?$/.test(lines[end - 1]!)) end--;
  return end;
}

/**
 * Config text with `backend` appended to the backends list (after the last one). EINVAL when the
 * name is taken; EBADCONFIG when the result would not validate.
 * @example const next = addBackendToConfigText(text, backendFromLocation('s3', 's3://bucket/p'))
 */
export function addBackendToConfigText(text: string, backend: BackendConfig, file = '.prolly/config.toml'): string {
  const current = parseConfig(text, { file });
  if (current.storage.backends.some((b) => b.name === backend.name)) {
    throw invalidArgument(`a storage backend named "${backend.name}" already exists in ${file}`, { name: backend.name });
  }
  const lines = text.split('\n');
  const blocks = backendBlocks(lines);
  const block = backendToml(backend).replace(/\n$/, '').split('\n');
  let next: string[];
  if (blocks.length > 0) {
    const at = blocks[blocks.length - 1]!.end;
    next = [...lines.slice(0, at), '', ...block, ...lines.slice(at)];
  } else {
    // No backends written yet (the defaults apply): keep the working store and add this one.
    const local = backendToml({ name: 'local', type: 'local', path: '.git/prolly/store' }).replace(/\n$/, '').split('\n');
    next = [...local, '', ...block, '', ...lines];
  }
  const out = next.join('\n').replace(/\n{3,}/g, '\n\n');
  try {
    parseConfig(out, { file });
  } catch (err) {
    throw new ProllyError(ErrorCodes.BAD_CONFIG, `adding backend "${backend.name}" would make ${file} invalid: ${(err as Error).message}`, { name: backend.name }, { cause: err });
  }
  return out;
}

/**
 * Config text without the backend called `name`. EINVAL when there is none or it is the working store.
 * @example const next = removeBackendFromConfigText(text, 'archive')
 */
export function removeBackendFromConfigText(text: string, name: string, file = '.prolly/config.toml'): string {
  const current = parseConfig(text, { file });
  const known = current.storage.backends.map((b) => b.name);
  if (!known.includes(name)) throw invalidArgument(`no storage backend named "${name}" in ${file} (configured: ${known.join(', ') || 'none'})`, { name });
  const lines = text.split('\n');
  const block = backendBlocks(lines).find((b) => b.name === name);
  if (!block) throw invalidArgument(`cannot find the [[storage.backends]] block of "${name}" in ${file}; edit it by hand`, { name });
  const out = [...lines.slice(0, block.start), ...lines.slice(block.end)].join('\n').replace(/\n{3,}/g, '\n\n');
  const parsed = parseConfig(out, { file });
  if (parsed.storage.backends.some((b) => b.name === name)) throw invalidArgument(`backend "${name}" is defined more than once in ${file}; edit it by hand`, { name });
  return out;
}
