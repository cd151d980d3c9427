/**
 * `git prolly remote add <name> <location> | remove <name> | list`: the [[storage.backends]] entries
 * of `.prolly/config.toml` (commit the file to share them; credentials never go there).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG_TOML, loadConfig, type BackendConfig } from '../../config/config.js';
import { invalidArgument } from '../../errors.js';
import { CONFIG_PATH, findRepo, type RepoPaths } from '../../repo/paths.js';
import { addBackendToConfigText, backendFromLocation, removeBackendFromConfigText } from '../../store/remote/remote-config.js';
import { isWorkingStore } from '../../store/tiered/repo-store.js';
import { localBackendDir } from '../../store/tiered/tier.js';
import { writeFileAtomicSync } from '../../util/atomic-file.js';
import { utf8 } from '../../util/bytes.js';
import { intOption } from '../context.js';
import type { Output } from '../output.js';

export async function run(out: Output, args: unknown[], options: Record<string, unknown>): Promise<void> {
  const [action, name, location] = args as [string, string | undefined, string | undefined];
  const paths = findRepo({ dir: process.cwd(), gitDir: process.env.GIT_DIR, workTree: process.env.GIT_WORK_TREE });
  const file = join(paths.workTree, CONFIG_PATH);
  switch (action) {
    case 'add': {
      if (!name || !location) throw invalidArgument('usage: git prolly remote add <name> <s3://bucket/prefix | ipfs://host:port | directory>');
      const type = options.type as string | undefined;
      if (type !== undefined && !['local', 's3', 'ipfs'].includes(type)) throw invalidArgument(`--type must be local, s3 or ipfs, got ${JSON.stringify(type)}`);
      const backend = backendFromLocation(name, location, {
        type: type as BackendConfig['type'] | undefined,
        endpoint: options.endpoint as string | undefined,
        region: options.region as string | undefined,
        storageClass: options.storageClass as string | undefined,
        maxAgeDays: intOption('--max-age-days', options.maxAgeDays),
      });
      const text = existsSync(file) ? readFileSync(file, 'utf8') : DEFAULT_CONFIG_TOML;
      writeFileAtomicSync(file, utf8(addBackendToConfigText(text, backend, CONFIG_PATH)));
      if (out.json) await out.printJson(backend);
      else await out.line(`added ${backend.type} backend "${name}" to ${CONFIG_PATH} (commit it to share; push with git prolly push ${name})`);
      return;
    }
    case 'remove':
    case 'rm': {
      if (!name) throw invalidArgument('usage: git prolly remote remove <name>');
      if (!existsSync(file)) throw invalidArgument(`${CONFIG_PATH} does not exist: no backends to remove`);
      writeFileAtomicSync(file, utf8(removeBackendFromConfigText(readFileSync(file, 'utf8'), name, CONFIG_PATH)));
      if (out.json) await out.printJson({ removed: name });
      else await out.line(`removed backend "${name}" from ${CONFIG_PATH} (its data stays where it is)`);
      return;
    }
    case 'list':
    case undefined: {
      const rows = listBackends(paths);
      if (out.json) {
        await out.printJson(rows);
        return;
      }
      for (const r of rows) await out.line(`${r.name}\t${r.type}\t${r.location}${r.role === 'working' ? '\t(working store)' : ''}`);
      return;
    }
    default:
      throw invalidArgument(`unknown remote action ${JSON.stringify(action)}: use add, remove or list`);
  }
}

/** Configured backends with where they point and whether they are the working store. */
function listBackends(paths: RepoPaths): { name: string; type: string; location: string; role: 'working' | 'remote'; max_age_days?: number }[] {
  const config = loadConfig(join(paths.workTree, CONFIG_PATH));
  return config.storage.backends.map((b) => {
    const working = isWorkingStore(b, paths);
    let location: string;
    if (b.type === 'local') location = working ? paths.storeDir : localBackendDir(b, paths.workTree);
    else if (b.type === 's3') location = `s3://${b.bucket}/${(b.prefix ?? '').replace(/^\/+|\/+$/g, '')}${b.endpoint ? ` (${b.endpoint})` : ''}`;
    else location = b.endpoint ?? '';
    return { name: b.name, type: b.type, location, role: working ? 'working' : 'remote', ...(b.max_age_days !== undefined ? { max_age_days: b.max_age_days } : {}) };
  });
}
