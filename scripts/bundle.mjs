#!/usr/bin/env node
/**
 * `npm run build:bundle` (after `npm run build`): bundles each binary's compiled entry into one
 * file under dist/bundle/, so that start-up reads and compiles one file instead of ~30 modules
 * (module resolution and loading is most of the binaries' start-up cost; see the README's Speed section).
 *
 *   dist/cli/sstash.js          -> dist/bundle/sstash.js                 (exports main)
 *   dist/cli/run.js             -> dist/bundle/sstash-run.js             (exports main)
 *   dist/cli/git-credential.js  -> dist/bundle/git-credential-sstash.js  (exports main)
 *   dist/cli/agent.js           -> dist/bundle/cli/agent.js              (the agent process)
 *
 * The agent keeps the relative place it has next to the client code (`./cli/agent.js` from the
 * bundle, as from dist/agent-client.js), and dist/bundle/x.js is as deep as dist/cli/x.js, so
 * `new URL(..., import.meta.url)` finds package.json and the agent from either layout.
 * Dependencies (tweetnacl, cac, dotenv) are bundled too; execa is not used by the binaries.
 */
import { build } from 'esbuild'
import { resolve } from 'node:path'

// The package root to bundle (default this one; bench/run.mjs passes its private copy).
const ROOT = resolve(process.argv[2] ?? resolve(import.meta.dirname, '..'))
const entries = {
  sstash: 'dist/cli/sstash.js',
  'sstash-run': 'dist/cli/run.js',
  'git-credential-sstash': 'dist/cli/git-credential.js',
  'cli/agent': 'dist/cli/agent.js',
}

await build({
  absWorkingDir: ROOT,
  entryPoints: Object.fromEntries(Object.entries(entries).map(([out, src]) => [out, src])),
  outdir: 'dist/bundle',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies call require() for node built-ins; ESM output has no require.
  banner: { js: "import { createRequire as __sstashRequire } from 'node:module'; const require = __sstashRequire(import.meta.url);" },
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
})
