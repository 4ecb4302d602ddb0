// Builds the client into dist/: hashed JS and CSS bundles (cached forever by
// web.Handler) and index.html (never cached) pointing at them.
// Usage: node build.mjs [--watch is not supported; rebuild instead]
import { build } from 'esbuild';
import { readFile, writeFile, rm, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(root, 'dist');

// Clear old bundles but keep the committed dist/.keep that go:embed needs.
await mkdir(dist, { recursive: true });
for (const name of await readdir(dist)) {
  if (name !== '.keep') await rm(path.join(dist, name), { recursive: true, force: true });
}

const result = await build({
  absWorkingDir: root,
  entryPoints: { app: 'src/main.js', style: 'src/styles.css' },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  outdir: 'dist/assets',
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'info',
});

/** @param {string} entry */
function outputFor(entry) {
  for (const [out, meta] of Object.entries(result.metafile.outputs)) {
    if (meta.entryPoint === entry) return '/' + path.relative('dist', out).split(path.sep).join('/');
  }
  throw new Error(`no output for ${entry}`);
}

const html = (await readFile(path.join(root, 'src/index.html'), 'utf8'))
  .replace('%JS%', outputFor('src/main.js'))
  .replace('%CSS%', outputFor('src/styles.css'));
await writeFile(path.join(dist, 'index.html'), html);
console.log('wrote dist/index.html');
