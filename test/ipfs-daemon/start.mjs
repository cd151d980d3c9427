// Starts a throwaway, offline js-ipfs node that serves the Kubo RPC API (/api/v0) on loopback, for
// git-prolly's IPFS tier tests. js-ipfs is used because no Kubo binary can be installed here; see
// shared TESTING.md. Usage as a module: `const { apiUrl, stop } = await startIpfsDaemon()`; from a
// shell: `node test/ipfs-daemon/start.mjs` prints the API URL and runs until Ctrl-C.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The js-ipfs CLI entry point inside this folder's own node_modules. */
export const JSIPFS_CLI = path.join(here, 'node_modules', 'ipfs', 'src', 'cli.js');

/** True when `npm ci` has been run in this folder. */
export function isIpfsDaemonInstalled() {
  return existsSync(JSIPFS_CLI);
}

/**
 * `n` distinct free loopback ports. All n listeners are open at the same time, so no two ports are
 * the same (picked one at a time, two random picks can be the same port).
 */
async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      srv.unref();
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', resolve);
      });
      servers.push(srv);
    }
    return servers.map((srv) => srv.address().port);
  } finally {
    await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(() => resolve()))));
  }
}

function run(args, env, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [JSIPFS_CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`jsipfs ${args.join(' ')} exited with ${code}: ${out.slice(-2000)}`));
    });
  });
}

function spawnDaemon(env) {
  const child = spawn(process.execPath, [JSIPFS_CLI, 'daemon', '--offline'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited };
}

/** Resolve once the daemon prints "Daemon is ready"; reject (with its output) if it exits or hangs first. */
function waitReady(child, exited, readyTimeoutMs, log) {
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`js-ipfs daemon not ready after ${readyTimeoutMs} ms: ${output.slice(-2000)}`));
    }, readyTimeoutMs);
    const onData = (d) => {
      output += d;
      log(String(d));
      if (output.includes('Daemon is ready')) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`js-ipfs daemon exited (${code ?? signal}) before it was ready: ${output.slice(-2000)}`));
    });
  });
}

/**
 * Init an empty repo in a temp dir with networking off (no swarm, bootstrap, delegates, MDNS,
 * webRTCStar), pick free loopback ports, start `jsipfs daemon --offline`, and resolve once it
 * prints "Daemon is ready".
 * @returns {Promise<{ apiUrl: string, gatewayUrl: string, repoPath: string, pid: number, stop: () => Promise<void> }>}
 */
export async function startIpfsDaemon({ readyTimeoutMs = 90_000, log = () => {} } = {}) {
  if (!isIpfsDaemonInstalled()) {
    throw new Error(`js-ipfs is not installed: run \`npm ci --prefix ${path.relative(process.cwd(), here) || '.'}\` first`);
  }
  const base = await fs.mkdtemp(path.join(tmpdir(), 'prolly-ipfs-'));
  const repoPath = path.join(base, 'repo');
  const env = { ...process.env, IPFS_PATH: repoPath, IPFS_MONITORING: '', DEBUG: '' };
  await run(['init', '--empty-repo'], env, 60_000);

  const configFile = path.join(repoPath, 'config');
  const config = JSON.parse(await fs.readFile(configFile, 'utf8'));
  config.Addresses.Swarm = [];
  config.Addresses.Delegates = [];
  config.Bootstrap = [];
  config.Discovery = { ...(config.Discovery ?? {}), MDNS: { Enabled: false }, webRTCStar: { Enabled: false } };

  // The ports are free when chosen but not reserved: another process may take one before the daemon
  // binds it. Then the daemon exits with EADDRINUSE, and a new set of ports is tried.
  let child;
  let exited;
  let apiPort;
  let gatewayPort;
  for (let attempt = 1; ; attempt++) {
    let rpcPort;
    [apiPort, gatewayPort, rpcPort] = await freePorts(3);
    config.Addresses.API = `/ip4/127.0.0.1/tcp/${apiPort}`;
    config.Addresses.Gateway = `/ip4/127.0.0.1/tcp/${gatewayPort}`;
    config.Addresses.RPC = `/ip4/127.0.0.1/tcp/${rpcPort}`;
    await fs.writeFile(configFile, JSON.stringify(config, null, 2));
    ({ child, exited } = spawnDaemon(env));
    try {
      await waitReady(child, exited, readyTimeoutMs, log);
      break;
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE|address already in use/i.test(String(err.message))) {
        await fs.rm(base, { recursive: true, force: true });
        throw err;
      }
      log(`js-ipfs daemon: a port was taken, retrying with new ports (${attempt})\n`);
      // The daemon that gave up left its repo lock (a directory) behind.
      await fs.rm(path.join(repoPath, 'repo.lock'), { recursive: true, force: true });
    }
  }
  // Keep draining output so the daemon never blocks on a full pipe.
  child.stdout.on('data', () => {});
  child.stderr.on('data', () => {});

  // If the parent dies without calling stop(), do not leave the daemon running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopped;
  const stop = () => {
    process.removeListener('exit', killOnExit);
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killTimer);
      }
      await fs.rm(base, { recursive: true, force: true });
    })();
    return stopped;
  };
  return { apiUrl: `http://127.0.0.1:${apiPort}`, gatewayUrl: `http://127.0.0.1:${gatewayPort}`, repoPath, pid: child.pid, stop };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const daemon = await startIpfsDaemon();
  console.log(daemon.apiUrl);
  const shutdown = () => void daemon.stop().then(() => process.exit(0));
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
