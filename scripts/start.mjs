// `npm start`: the console on the built-in sandbox Zimbra server.
//
// Installs the npm packages if there are none, builds out/ when it is missing or older than the
// sources, starts the sandbox server, then opens the Electron app, or, where Electron cannot run
// (no binary, no display, or --web), serves the same console on 127.0.0.1 and prints its address.
// Ctrl-C stops everything, the sandbox last.
//
//   npm start [-- --web] [-- --no-sandbox]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const flags = new Set(process.argv.slice(2));
const log = (line) => console.log(`[mailvault] ${line}`);

let stopping = false;
let sandbox;
let sandboxDir;
let sandboxFailed = false;
let host;
let webConsole;
let child;

// Installed first: Ctrl-C while the sandbox starts must still stop it.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) {
      console.error('[mailvault] already stopping; press Ctrl-C again only if it hangs');
      process.once(signal, () => process.exit(130));
      return;
    }
    void shutdown(0);
  });
}

await main();

async function main() {
  ensurePackages();
  buildIfStale();
  const electron = flags.has('--web') ? undefined : findElectron();

  // TypeScript sources run through tsx, in one module graph of their own.
  const { register } = await import('tsx/esm/api');
  const tsx = register({ namespace: 'mailvault-start' });
  const load = (file) => tsx.import(pathToFileURL(path.join(root, file)).href, import.meta.url);
  const { createEventHub } = await load('src-main/api/events.ts');
  const { startSandboxServers } = await load('src-main/api/sandbox-servers.ts');

  const events = createEventHub(log);
  if (!flags.has('--no-sandbox')) {
    log('starting the sandbox Zimbra server (MariaDB, OpenLDAP, OpenSSH on loopback)');
    sandbox = startSandboxServers(async () => {
      const { startSandbox } = await load('src-main/lab/sandbox.ts');
      return startSandbox({ log: (line) => log(`sandbox: ${line}`) });
    }, events);
    const outcome = await sandbox.ready;
    if (stopping) return;
    sandboxFailed = !outcome.ok;
    if (outcome.ok) {
      sandboxDir = outcome.info.dir;
      for (const s of outcome.info.servers) {
        log(`sandbox server ${s.hostname}: ssh -p ${s.ssh.port} ${s.ssh.user}@${s.ssh.host}`);
      }
    } else {
      console.error(`[mailvault] the sandbox server did not start: ${outcome.message}`);
    }
  }

  if (electron) {
    const env = { ...process.env };
    delete env.ELECTRON_RUN_AS_NODE;
    // The app reuses the lab we started (and leaves it to us); without one it tries its own.
    if (sandboxDir) env.MAILVAULT_SANDBOX_DIR = sandboxDir;
    if (flags.has('--no-sandbox')) env.MAILVAULT_NO_SANDBOX = '1';
    const args = [root];
    if (process.getuid?.() === 0) {
      log(
        "running as root: Chromium's process sandbox is off (--no-sandbox); run as a normal user to keep it",
      );
      args.push('--no-sandbox');
    }
    log(`opening the app (${path.relative(root, electron)})`);
    child = spawn(electron, args, { stdio: 'inherit', env });
    child.on('exit', (code) => void shutdown(code ?? 0));
    return;
  }

  const { createConsole } = await load('src-main/api/create-console.ts');
  const { defaultConfigDir } = await load('src-main/api/config-dir.ts');
  const { NO_SECRET_BOX } = await load('src-main/api/secrets.ts');
  const { launchWorkerFromSource } = await load('src-main/jobs/launch-from-source.ts');
  const { startWebHost } = await load('src-main/host/web-host.ts');
  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  // The web console has no keyring: it stores no passphrases (SSH agent or unencrypted keys only).
  webConsole = createConsole({
    info: { name: 'Mailvault', version, shell: 'web' },
    configDir: defaultConfigDir(),
    secrets: NO_SECRET_BOX,
    events,
    launchWorker: launchWorkerFromSource(),
    sandbox,
    log,
  });
  log(`saved servers: ${webConsole.store.file}`);
  host = await startWebHost({
    rendererDir: path.join(root, 'out/renderer'),
    dispatch: webConsole.dispatch,
    events,
    log,
  });
  console.log(`\nMailvault console: ${host.url}\n`);
  log('open it in a browser on this machine; Ctrl-C stops the console and the sandbox');
}

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  child?.kill('SIGTERM');
  await host?.close();
  await webConsole?.stop();
  if (sandbox && !sandboxFailed) log('stopping the sandbox server');
  await sandbox?.stop().catch((error) => console.error(`[mailvault] stopping the sandbox failed: ${error}`));
  process.exit(code);
}

/** `npm ci` when there is no node_modules at all (never over an existing one: it deletes it first). */
function ensurePackages() {
  if (fs.existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
    const lock = path.join(root, 'package-lock.json');
    if (
      fs.statSync(lock).mtimeMs >
      fs.statSync(path.join(root, 'node_modules', '.package-lock.json')).mtimeMs + 1000
    ) {
      log('package-lock.json changed since the last install; run `npm ci` if something is missing');
    }
    return;
  }
  log('installing npm packages (npm ci)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const install = (env) =>
    spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit', env }).status;
  if (install(process.env) === 0) return;
  // Electron's binary download is the usual failure offline; the web console works without it.
  log('retrying without the Electron binary (ELECTRON_SKIP_BINARY_DOWNLOAD=1)');
  if (install({ ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }) !== 0) fail('npm ci failed');
}

function buildIfStale() {
  const outputs = ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html'].map((f) =>
    path.join(root, f),
  );
  const sources = ['src-main', 'src-preload', 'src-renderer', 'electron.vite.config.ts', 'package.json'];
  const built = outputs.every((f) => fs.existsSync(f))
    ? Math.min(...outputs.map((f) => fs.statSync(f).mtimeMs))
    : 0;
  const changed = Math.max(...sources.map((s) => newestMtime(path.join(root, s))));
  if (built > changed) return;
  log(built ? 'sources changed since the last build: building' : 'building the app (electron-vite build)');
  const cli = path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  const { status } = spawnSync(process.execPath, [cli, 'build'], { cwd: root, stdio: 'inherit' });
  if (status !== 0) fail('the build failed (see above)');
}

function newestMtime(file) {
  if (!fs.existsSync(file)) return 0;
  const stat = fs.statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...fs.readdirSync(file).map((name) => newestMtime(path.join(file, name))));
}

/** The Electron binary, if it is installed (or can be, in one download attempt) and can show a window. */
function findElectron() {
  const pkg = path.join(root, 'node_modules', 'electron');
  // As node_modules/electron/index.js finds it (ELECTRON_OVERRIDE_DIST_PATH included).
  const binary = () => {
    const pathFile = path.join(pkg, 'path.txt');
    const name = fs.existsSync(pathFile) ? fs.readFileSync(pathFile, 'utf8').trim() : undefined;
    const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
    const file = override ? path.join(override, name ?? 'electron') : name && path.join(pkg, 'dist', name);
    return file && fs.existsSync(file) ? file : undefined;
  };
  if (!fs.existsSync(path.join(pkg, 'install.js'))) return undefined;
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    log(
      'no display here (DISPLAY, WAYLAND_DISPLAY): serving the console for a browser instead of opening the app',
    );
    return undefined;
  }
  if (binary()) return binary();
  log('the Electron binary is not installed; trying to download it once');
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const result = spawnSync(process.execPath, [path.join(pkg, 'install.js')], {
    cwd: pkg,
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (binary()) return binary();
  const reason =
    `${result.stderr ?? ''}`.split('\n').find((line) => /error/i.test(line)) ??
    `exit status ${result.status}`;
  log(`no Electron (${reason.trim()}): serving the console for a browser instead`);
  return undefined;
}

function fail(message) {
  console.error(`[mailvault] ${message}`);
  process.exit(1);
}
