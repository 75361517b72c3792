'use strict'
/**
 * Runs one of the binaries' bundles (dist/bundle/<name>.cjs, see scripts/bundle.mjs) with a V8
 * code cache of its own, on every Node: the bundle is compiled through vm.Script with the code
 * a run of the same command saved at its end, so that it holds the functions that run compiled
 * lazily too (Node's own compile cache keeps only those compiled at load: docs/SPEED.md has the
 * numbers). The first runs of a command (MERGED) each save it again, so that it holds what each
 * of them needed: a `get` through the agent and one opened by an ssh key, say.
 *
 * The cache is code that V8 runs, so it goes only into a directory of ours alone:
 * $XDG_CACHE_HOME/sstash (else ~/.cache/sstash, ~/Library/Caches/sstash on macOS), made 0700 and
 * checked with lstat (a real directory, ours, no group or world bits), one folder per Node
 * version and architecture. A file there is named by the bundle, the command and the hash of
 * the bundle's content that scripts/bundle.mjs appends to it, so a new build never reads an old
 * file (and V8 itself rejects one made by another V8 or with other flags); written 0600 under a
 * temporary name and renamed, only by a run that succeeded. Saving a file removes those of the
 * same bundle and command but the newest of another build, and the first run with a new Node
 * keeps the folders of the two Nodes used last: so the cache stays bounded. NODE_DISABLE_COMPILE_CACHE=1
 * turns it off. Any failure just means running without a cache.
 */
const { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs')
const { createRequire, wrap } = require('node:module')
const { dirname, join } = require('node:path')
const { Script } = require('node:vm')

/** How many Node versions' folders are kept, the new one included. */
const KEEP = 3
/** How many runs of a command add what they compiled to its cache (the first byte of the file counts them). */
const MERGED = 3

/** True for a real directory owned by this user with no group or world bits. */
function ours(info) {
  return info.isDirectory() && info.uid === (process.getuid ? process.getuid() : info.uid) && (info.mode & 0o077) === 0
}

/** The cache folder for this Node, made on first use; undefined when it is not ours alone or cannot be made. */
function cacheDir() {
  const env = process.env
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(env.HOME || require('node:os').homedir(), process.platform === 'darwin' ? 'Library/Caches' : '.cache')
  const top = join(base, 'sstash')
  const dir = join(top, `node-${process.version}-${process.arch}`)
  try {
    // Later runs only look at both: whoever owned the folder above could swap ours.
    const info = lstatSync(dir, { throwIfNoEntry: false })
    if (info) return ours(info) && ours(lstatSync(top)) ? dir : undefined
    mkdirSync(top, { recursive: true, mode: 0o700 })
    if (!ours(lstatSync(top))) return undefined
    mkdirSync(dir, { mode: 0o700 })
    pruneNodes(top, dir)
    return ours(lstatSync(dir)) ? dir : undefined
  } catch {
    return undefined
  }
}

/** Removes from `top` all but the newest {@link KEEP} Node folders (`dir`, just made, among them) and anything else. */
function pruneNodes(top, dir) {
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

/** What follows the stem in the name of a file of any build (or one a run left half written). */
const OTHER_BUILD = /^[0-9a-f]{16}\.v8(\.\d+\.tmp)?$/

/**
 * Removes the files of `stem`'s other builds but the newest: two installs of sstash (a global
 * one and a project's) keep a file each instead of taking turns to replace the other's.
 */
function pruneBuilds(dir, stem, file) {
  const others = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (path !== file && name.startsWith(stem) && OTHER_BUILD.test(name.slice(stem.length))) others.push({ path, mtime: lstatSync(path).mtimeMs })
  }
  others.sort((a, b) => b.mtime - a.mtime)
  for (const { path } of others.slice(1)) rmSync(path, { force: true })
}

/** Saves `script`'s code to `file`, `runs` in its first byte. Called at the end of a run, or just before sstash-run replaces itself. */
function save(script, dir, stem, file, runs) {
  const tmp = `${file}.${process.pid}.tmp`
  try {
    writeFileSync(tmp, Buffer.concat([Buffer.of(runs), script.createCachedData()]), { mode: 0o600 })
    renameSync(tmp, file)
    pruneBuilds(dir, stem, file)
  } catch {
    rmSync(tmp, { force: true })
  }
}

/**
 * Loads dist/bundle/<name>.cjs as a CommonJS module, with its code cache, and returns its
 * exports. `command` (sstash's first argument), when it looks like one, gets a cache file of its
 * own: a `get` need not load what a `set` compiled. node:os is required only without
 * XDG_CACHE_HOME and HOME: it is not free to load.
 */
function loadBundle(name, command) {
  const file = join(__dirname, '..', 'dist', 'bundle', `${name}.cjs`)
  const source = readFileSync(file, 'utf8')
  const build = /\/\/# sstash-build=([0-9a-f]{16})\n$/.exec(source.slice(-64))
  const dir = build && !process.env.NODE_DISABLE_COMPILE_CACHE ? cacheDir() : undefined
  // A dot before the command: bundle names have none, so `sstash` + `get` never names the file of `sstash-get`.
  const stem = /^[a-z][a-z-]{0,31}$/.test(command ?? '') ? `${name}.${command}-` : `${name}-`
  const cacheFile = dir && join(dir, `${stem}${build[1]}.v8`)
  let saved
  try {
    saved = cacheFile ? readFileSync(cacheFile) : undefined
  } catch {}
  const script = new Script(wrap(source), { filename: file, cachedData: saved && saved.subarray(1) })
  const runs = saved && !script.cachedDataRejected ? saved[0] : 0
  if (cacheFile && runs < MERGED) {
    const once = () => save(script, dir, stem, cacheFile, runs + 1)
    // A run that failed (a mistyped command) adds nothing; sstash-run says when it is about to become its command.
    process.once('exit', (code) => code === 0 && once())
    process.once('sstash:exec', once)
  }
  const bundle = { exports: {} }
  script.runInThisContext()(bundle.exports, createRequire(file), bundle, file, dirname(file))
  return bundle.exports
}

module.exports = { loadBundle }
