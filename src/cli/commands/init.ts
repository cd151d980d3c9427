/** `git prolly init`: set up git-prolly in the current git repository (idempotent). */
import type { Output } from '../output.js';

export async function run(out: Output): Promise<void> {
  const { initRepo } = await import('../../repo/init.js');
  const r = await initRepo({ dir: process.cwd() });
  if (out.json) {
    await out.printJson({ workTree: r.paths.workTree, store: r.paths.storeDir, changed: r.changed, command: r.command });
    return;
  }
  if (r.changed.length === 0) {
    await out.line(`git-prolly is already set up in ${r.paths.workTree}`);
    return;
  }
  await out.line(`Initialized git-prolly in ${r.paths.workTree}`);
  for (const c of r.changed) await out.line(`  ${c}`);
  await out.line('Commit the setup with: git prolly commit -m "Set up git-prolly"');
}
