'use strict'
/**
 * Runs one of the binaries' bundles (dist/bundle/<name>.cjs, see scripts/bundle.mjs) with Node's
 * own compile cache (module.enableCompileCache, Node 22.1 and later; Node 20 runs without one:
 * docs/SPEED.md has the numbers).
 *
 * The cache is code that Node runs, so it goes only into a directory of ours alone, never into
 * Node's shared default under the system's tmp: $XDG_CACHE_HOME/sstash (else ~/.cache/sstash,
 * ~/Library/Caches/sstash on macOS), made 0700 and checked with lstat (a real directory, ours,
 * no group or world bits). Inside it, one folder per Node version, in which Node keeps one file
 * per bundle file, replaced when the bundle changes. The first run with a new Node keeps the
 * folders of the two Nodes used last (someone may switch between a few) and removes the rest,
 * and what sstash's own older cache left (*.v8 files): so the cache stays bounded.
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off; a NODE_COMPILE_CACHE of the user's own is left as
 * it is. Any failure just means running without a cache.
 */
const { lstatSync, mkdirSync, readdirSync, rmSync } = require('node:fs')
const { enableCompileCache, getCompileCacheDir } = require('node:module')
const { join } = require('node:path')

/** How many Node versions' folders are kept, the new one included. */
const KEEP = 3

/** True for a real directory owned by this user with no group or world bits. */
function ours(info) {
  return info.isDirectory() && info.uid === (process.getuid ? process.getuid() : info.uid) && (info.mode & 0o077) === 0
}

/** The cache folder for this Node, made on first use; undefined when it is not ours alone or cannot be made. */
function cacheDir() {
  const env = process.env
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(require('node:os').homedir(), process.platform === 'darwin' ? 'Library/Caches' : '.cache')
  const top = join(base, 'sstash')
  const dir = join(top, `node-${process.version}-${process.arch}`)
  try {
    // Later runs only look at both: whoever owned the folder above could swap ours.
    const info = lstatSync(dir, { throwIfNoEntry: false })
    if (info) return ours(info) && ours(lstatSync(top)) ? dir : undefined
    mkdirSync(top, { recursive: true, mode: 0o700 })
    if (!ours(lstatSync(top))) return undefined
    mkdirSync(dir, { mode: 0o700 })
    prune(top, dir)
    return ours(lstatSync(dir)) ? dir : undefined
  } catch {
    return undefined
  }
}

/** Removes from `top` all but the newest {@link KEEP} Node folders (`dir`, just made, among them) and anything else. */
function prune(top, dir) {
  const folders = []
  for (const name of readdirSync(top)) {
    const path = join(top, name)
    const info = lstatSync(path)
    if (name.startsWith('node-') && info.isDirectory()) folders.push({ path, mtime: path === dir ? Infinity : info.mtimeMs })
    else rmSync(path, { recursive: true, force: true })
  }
  folders.sort((a, b) => b.mtime - a.mtime)
  for (const { path } of folders.slice(KEEP)) rmSync(path, { recursive: true, force: true })
}

/** Loads dist/bundle/<name>.cjs with the compile cache on, and returns its exports. node:os is required only without XDG_CACHE_HOME: it is not free to load. */
function loadBundle(name) {
  if (enableCompileCache && !process.env.NODE_DISABLE_COMPILE_CACHE && !getCompileCacheDir()) {
    const dir = cacheDir()
    if (dir) enableCompileCache(dir)
  }
  return require(join(__dirname, '..', 'dist', 'bundle', `${name}.cjs`))
}

module.exports = { loadBundle }
