// Bundles the Explorer (web/) into dist/web: one ES module and one stylesheet, minified, no
// source fetched at run time. Fails the build when the JS bundle exceeds its gzipped budget.
import { build } from 'esbuild'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const out = path.join(root, 'dist', 'web')
const budgetGzipBytes = 150 * 1024

fs.rmSync(out, { recursive: true, force: true })
await build({
  entryPoints: [path.join(root, 'web', 'main.tsx')],
  bundle: true,
  format: 'esm',
  minify: true,
  sourcemap: true,
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: path.join(out, 'main.js'),
  logLevel: 'warning'
})
fs.copyFileSync(path.join(root, 'web', 'index.html'), path.join(out, 'index.html'))
const gz = zlib.gzipSync(fs.readFileSync(path.join(out, 'main.js'))).length
if (gz > budgetGzipBytes) {
  console.error(`build-web: dist/web/main.js is ${gz} bytes gzipped, over the ${budgetGzipBytes}-byte budget`)
  process.exit(1)
}
