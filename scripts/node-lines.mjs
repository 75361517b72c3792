#!/usr/bin/env node
/**
 * The Node.js release lines CI tests and the bench measures, besides the system's Node:
 * Node's own binaries from the npm registry (the package node-<platform>-<arch>@<line> holds
 * bin/node), installed into a cache of their own, never as the project's dependencies (npm ci
 * on a contributor's Mac must not download Linux binaries).
 *
 *   node scripts/node-lines.mjs [line...]   installs (or updates) each line, then prints one
 *                                           `<line> <path of its node>` per line
 *
 * The cache is $SSTASH_CI_NODES, else $XDG_CACHE_HOME/sstash-ci (else ~/.cache/sstash-ci), one
 * folder per line. What is installed there is run as us, so nobody else may write the folder
 * (checked with lstat). The default is made 0700; $SSTASH_CI_NODES is made 0755, so that the
 * second user of the cross-user tests can run these Nodes too (.ci/run sets it when run as root,
 * whose home other users cannot enter).
 * Each run asks the registry for the newest release of each line; a line that cannot be
 * installed (no registry, no package for this platform) is an error, never a silent skip.
 */
import { spawnSync } from 'node:child_process'
import { lstatSync, mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** The release lines tested besides the system's Node, oldest first. */
export const NODE_LINES = ['22', '24', '26']

/** The cache folder, made when missing and refused unless it is ours and nobody else can write it. */
function cacheDir() {
  const shared = process.env.SSTASH_CI_NODES?.startsWith('/') ? process.env.SSTASH_CI_NODES : undefined
  const base = process.env.XDG_CACHE_HOME?.startsWith('/') ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache')
  const dir = shared ?? join(base, 'sstash-ci')
  mkdirSync(dir, { recursive: true, mode: shared ? 0o755 : 0o700 })
  const info = lstatSync(dir)
  if (!info.isDirectory() || info.uid !== process.getuid?.() || (info.mode & 0o022) !== 0)
    throw new Error(`node-lines: refusing ${dir}: it must be a directory owned by you that nobody else can write to`)
  return dir
}

/**
 * Installs the newest release of a Node line into the cache.
 * @param {string} line - a major version, such as '24'
 * @returns {{ line: string, node: string, version: string }} the path of its node binary and its version
 * @throws {Error} when npm cannot install it or the binary does not run
 */
export function installNodeLine(line) {
  const pkg = `node-${process.platform}-${process.arch}`
  const prefix = join(cacheDir(), `node${line}`)
  const npm = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', `${pkg}@${line}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  if (npm.status !== 0) throw new Error(`node-lines: could not install Node ${line} (npm install ${pkg}@${line} exited ${npm.status ?? npm.error})`)
  const node = join(prefix, 'node_modules', pkg, 'bin', 'node')
  const run = spawnSync(node, ['-p', 'process.version'], { encoding: 'utf8' })
  const version = run.stdout?.trim() ?? ''
  if (run.status !== 0 || !version.startsWith(`v${line}.`)) throw new Error(`node-lines: ${node} does not run as Node ${line} (${version || run.error})`)
  return { line, node, version }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const lines = process.argv.length > 2 ? process.argv.slice(2) : NODE_LINES
  try {
    for (const line of lines) {
      const { node } = installNodeLine(line)
      process.stdout.write(`${line} ${node}\n`)
    }
  } catch (error) {
    process.stderr.write(`${error.message}\n`)
    process.exitCode = 1
  }
}
