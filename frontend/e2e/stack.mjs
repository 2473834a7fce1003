// Starts the Python stack (tests/dapp/stack.py: anvil + PulseLedger + record store + gateway) and a
// static server for the production build (dist/) that also serves the runtime config.json.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const frontendDir = resolve(fileURLToPath(import.meta.url), '..', '..');
export const repoDir = resolve(frontendDir, '..');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };

export function serveDist(getConfig) {
  const dist = join(frontendDir, 'dist');
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://x').pathname);
    if (path === '/config.json') {
      response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      response.end(JSON.stringify(getConfig()));
      return;
    }
    const file = normalize(join(dist, path === '/' ? 'index.html' : path));
    if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(response);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, origin: `http://127.0.0.1:${server.address().port}` })));
}

/** The Python stack as a child; `command(line)` resolves when it answered. */
export async function startStack(origin, logFile, extraArgs = []) {
  const child = spawn('uv', ['run', '--frozen', 'python', '-m', 'tests.dapp.stack', '--cors-origin', origin, ...extraArgs], {
    cwd: repoDir, stdio: ['pipe', 'pipe', 'pipe'],
  });
  // The gateway's JSON logs go to a file beside the screenshots (they carry no secrets by design).
  mkdirSync(resolve(logFile, '..'), { recursive: true });
  child.stderr.pipe(createWriteStream(logFile));
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  const exited = new Promise((ok) => child.on('exit', ok));
  const info = await Promise.race([
    new Promise((ok) => waiting.push(ok)),
    exited.then((code) => { throw new Error(`stack exited (${code}) before it was ready`); }),
  ]);
  return {
    info,
    command: (line) => new Promise((ok) => { waiting.push(ok); child.stdin.write(`${line}\n`); }),
    stop: async () => { child.stdin.end(); await Promise.race([exited, new Promise((ok) => setTimeout(ok, 15000))]); if (child.exitCode === null) child.kill('SIGTERM'); },
  };
}
