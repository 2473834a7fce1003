// The RPC proxy (services/sigv4proxy) in pass-through mode (auth "none") in front of the stack's
// anvil, for the second e2e run: the dapp's reads and the test wallet's transactions go through it.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { repoDir } from './stack.mjs';

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer().once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

export async function startProxy(upstream, origin, deployments, logStream) {
  const port = await freePort();
  const child = spawn('uv', ['run', '--frozen', 'python', '-m', 'services.sigv4proxy', '--bind', `127.0.0.1:${port}`, '--workers', '1', '--threads', '8'], {
    cwd: repoDir, detached: true, stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      PULSELEDGER_PROXY_UPSTREAMS: JSON.stringify([{ url: upstream, name: 'anvil', auth: 'none' }]),
      PULSELEDGER_PROXY_DEPLOYMENTS: deployments,
      PULSELEDGER_PROXY_CORS_ORIGINS: JSON.stringify([origin]),
      PULSELEDGER_PROXY_RATE_LIMIT_PER_SECOND: '1000',
      PULSELEDGER_PROXY_RATE_LIMIT_BURST: '2000',
    },
  });
  if (logStream) child.stderr.pipe(logStream);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((ok) => child.once('exit', ok));
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    await Promise.race([exited, new Promise((ok) => setTimeout(ok, 10000))]);
    if (child.exitCode === null) try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  const deadline = Date.now() + Number(process.env.E2E_PROXY_START_MS ?? 60000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the proxy exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, stop };
    } catch { /* not listening yet */ }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  await stop();
  throw new Error('the proxy did not become healthy');
}
