// `npm test` runs this first (pretest): the IPFS tier tests need an offline js-ipfs node, which lives in
// its own package (test/ipfs-daemon) so its ~300 MB never enter the project's dependency tree. Installed
// once; later runs find it and return at once. Skipped when a real Kubo is given or IPFS tests are off.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../ipfs-daemon/', import.meta.url));
const installed = existsSync(new URL('../ipfs-daemon/node_modules/ipfs/package.json', import.meta.url));
if (!installed && !process.env.PROLLY_TEST_IPFS_API && !process.env.PROLLY_TEST_SKIP_IPFS) {
  console.error('git-prolly tests: installing the js-ipfs test daemon into test/ipfs-daemon (once, ~3 minutes)…');
  // npm passes the parent project's settings to scripts as npm_config_* variables (e.g. this project's
  // legacy-peer-deps); the daemon's lockfile was made without them, so drop them for its own install.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(config|package|lifecycle)_/i.test(k)));
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit', env });
}
