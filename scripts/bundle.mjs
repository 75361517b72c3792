#!/usr/bin/env node
/**
 * The second half of `npm run build` (after tsc): bundles each binary's compiled entry into one
 * file under dist/bundle/, so that start-up reads and compiles one file instead of ~30 modules
 * (module resolution and loading was most of the binaries' start-up cost; see docs/SPEED.md).
 *
 *   dist/cli/sstash.js          -> dist/bundle/sstash.cjs                 (exports main)
 *   dist/cli/get-agent.js       -> dist/bundle/sstash-get-agent.cjs       (a plain `sstash get` through the agent, tried first)
 *   dist/cli/get.js             -> dist/bundle/sstash-get.cjs             (a plain `sstash get` that opens the stash, tried next)
 *   dist/cli/run-agent.js       -> dist/bundle/sstash-run-agent.cjs       (sstash-run whose read the agent serves, tried first)
 *   dist/cli/sstash-run.js      -> dist/bundle/sstash-run.cjs             (exports main)
 *   dist/cli/git-credential-get.js -> dist/bundle/git-credential-get.cjs  (`get` through the agent, tried first)
 *   dist/cli/git-credential-sstash.js -> dist/bundle/git-credential-sstash.cjs (exports main)
 *   dist/cli/agent.js           -> dist/bundle/cli/agent.cjs              (the agent process)
 *
 * The agent keeps the relative place it has next to the client code (`./cli/agent.cjs` from the
 * bundle, `../cli/agent.js` from dist/agent/client.js), and dist/bundle/x.js is as deep as dist/cli/x.js, so
 * `new URL(..., import.meta.url)` finds package.json and the agent from either layout.
 * Dependencies (tweetnacl, cac, dotenv) are bundled too.
 *
 * One file per binary, not split into chunks: each extra file a binary requires costs more
 * start-up than leaving its lazily-needed code (the cipher, the writer) in the binary's one file,
 * whose unrun functions the code cache and V8's lazy parsing make cheap (docs/SPEED.md).
 */
import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { appendFileSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'

// The package root to bundle (default this one; bench/run.mjs passes its private copy).
const ROOT = resolve(process.argv[2] ?? resolve(import.meta.dirname, '..'))
const entries = {
  sstash: 'dist/cli/sstash.js',
  'sstash-get-agent': 'dist/cli/get-agent.js',
  'sstash-get': 'dist/cli/get.js',
  'sstash-run-agent': 'dist/cli/run-agent.js',
  'sstash-run': 'dist/cli/sstash-run.js',
  'git-credential-get': 'dist/cli/git-credential-get.js',
  'git-credential-sstash': 'dist/cli/git-credential-sstash.js',
  'cli/agent': 'dist/cli/agent.js',
}

// Start clean: a bundle left from an older layout must not be picked up.
rmSync(join(ROOT, 'dist/bundle'), { recursive: true, force: true })

await build({
  absWorkingDir: ROOT,
  entryPoints: entries,
  outdir: 'dist/bundle',
  bundle: true,
  platform: 'node',
  // CommonJS: Node 20 starts a CommonJS file several milliseconds faster than an ES module,
  // and bundled dynamic import()s become lazy require()s, so unused code is never run.
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  target: 'node20',
  // import() of a Node built-in becomes a lazy require() too: no ES module loader is started,
  // and bin/run-bundle.cjs can require the bundle as a plain CommonJS file.
  supported: { 'dynamic-import': false },
  // import.meta.url (the agent's entry, package.json) only when asked: not on every start.
  define: { 'import.meta.url': '__sstashMeta.url' },
  banner: { js: "const __sstashMeta = { get url() { return require('node:url').pathToFileURL(__filename).href } };" },
  // A module-level TextDecoder or TextEncoder that a binary never uses is left out of its bundle.
  pure: ['TextDecoder', 'TextEncoder'],
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  // Only `sstash team add`/`rm` with an ssh key need it (ed25519 to X25519); bundled, it would
  // double the size of sstash's bundle that every `sstash get` loads. Node requires it from node_modules.
  // bcrypt-pbkdf (and its tweetnacl 0.14) likewise: only a passphrase-protected ssh key needs it.
  external: ['@noble/curves', 'bcrypt-pbkdf'],
  logLevel: 'warning',
})

// Each bundle ends with the hash of its content, by which bin/run-bundle.cjs names its code
// cache: V8 checks only a cache's length against the source, so a new build must never read
// the cache of an older one of the same length.
for (const out of Object.keys(entries)) {
  const file = join(ROOT, 'dist/bundle', `${out}.cjs`)
  appendFileSync(file, `\n//# sstash-build=${createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16)}\n`)
}
