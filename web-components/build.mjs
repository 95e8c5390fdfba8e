// Builds the dashboard into dist/web: one small initial script (Lit and the shell), later screens
// and charts as chunks loaded when first needed. Prints the initial script's size, raw and gzip.
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
  entryPoints: { app: path.join(here, 'src/main.ts') },
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

// The initial script is the entry and every chunk it imports statically; dynamic imports load later.
const outputs = result.metafile.outputs;
const initial = new Set();
const visit = (file) => {
  if (initial.has(file)) return;
  initial.add(file);
  for (const i of outputs[file].imports) if (i.kind === 'import-statement') visit(i.path);
};
visit(path.relative(process.cwd(), path.join(out, 'assets/app.js')));
const bytes = Buffer.concat([...initial].map((f) => readFileSync(f)));
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`dashboard: initial script ${kb(bytes.length)}, ${kb(gzipSync(bytes).length)} gzip (${initial.size} files); ${Object.keys(outputs).length} files in all`);
