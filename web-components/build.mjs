// Builds the dashboard into dist/web: one small initial script (Lit and the shell), later screens
// and charts as chunks loaded when first needed. Also the end-user portal (portal.js and
// portal.html, served at /portal/:token), sharing Lit's chunk; page.css styles both pages. Prints
// each initial script's size, raw and gzip.
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../dist/web');
rmSync(out, { recursive: true, force: true });
mkdirSync(path.join(out, 'assets'), { recursive: true });

const result = await build({
  metafile: true,
  entryPoints: { app: path.join(here, 'src/main.ts'), portal: path.join(here, 'src/portal/main.ts') },
  outdir: path.join(out, 'assets'),
  bundle: true,
  splitting: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
});
copyFileSync(path.join(here, 'index.html'), path.join(out, 'index.html'));
copyFileSync(path.join(here, 'portal.html'), path.join(out, 'portal.html'));
copyFileSync(path.join(here, 'page.css'), path.join(out, 'assets', 'page.css'));

// The initial script is the entry and every chunk it imports statically; dynamic imports load later.
const outputs = result.metafile.outputs;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const report = (label, entry) => {
  const initial = new Set();
  const visit = (file) => {
    if (initial.has(file)) return;
    initial.add(file);
    for (const i of outputs[file].imports) if (i.kind === 'import-statement') visit(i.path);
  };
  visit(path.relative(process.cwd(), path.join(out, 'assets', entry)));
  const bytes = Buffer.concat([...initial].map((f) => readFileSync(f)));
  return `${label}: initial script ${kb(bytes.length)}, ${kb(gzipSync(bytes).length)} gzip (${initial.size} files)`;
};
console.log(`${report('dashboard', 'app.js')}; ${Object.keys(outputs).length} files in all`);
console.log(report('portal', 'portal.js'));
