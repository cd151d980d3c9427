/** `git prolly install-hooks [--force]`: a pre-push hook so `git push` uploads chunks before commits. */
import { driverCommand } from '../../repo/init.js';
import { configValue, readGitConfig } from '../../repo/git-config.js';
import { findRepo } from '../../repo/paths.js';
import { hooksDir, installPrePushHook } from '../../store/remote/hooks.js';
import type { Output } from '../output.js';

export async function run(out: Output, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const paths = findRepo({ dir: process.cwd(), gitDir: process.env.GIT_DIR, workTree: process.env.GIT_WORK_TREE });
  const dir = hooksDir({ commonDir: paths.commonDir, workTree: paths.workTree, hooksPath: configValue(readGitConfig(paths), 'core.hookspath') });
  const r = installPrePushHook({ dir, command: driverCommand(), force: Boolean(options.force) });
  if (out.json) await out.printJson(r);
  else await out.line(r.action === 'unchanged' ? `pre-push hook already installed: ${r.path}` : `pre-push hook ${r.action}: ${r.path} (git push now uploads dataset chunks first)`);
}
