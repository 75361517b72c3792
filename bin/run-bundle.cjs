'use strict'
/**
 * Runs one of the binaries' bundles (dist/bundle/<name>.cjs, see scripts/bundle.mjs) with a
 * V8 code cache, as Node 22's module.enableCompileCache() does for modules: the first run
 * compiles the bundle and saves V8's code for it; later runs skip most of the compiling.
 *
 * The cache is code, so it is read only from a directory that only this user can write:
 * $XDG_CACHE_HOME/sstash (else ~/.cache/sstash, ~/Library/Caches/sstash on macOS), made 0700
 * and checked with lstat (a real directory, ours, no group or world bits); files are 0600,
 * written to a temp name and renamed. A cache file is named by the command, the bundle's content
 * hash (appended to the bundle by scripts/bundle.mjs), Node's version and the architecture, so
 * a new build or Node never reads an old one, and V8 itself rejects a cache it cannot use.
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off, as it does for Node's own cache. Any failure just
 * means compiling as usual: the cache can make a run faster, never fail it.
 */
const { lstatSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } = require('node:fs')
const { createRequire, wrap } = require('node:module')
const { homedir } = require('node:os')
const { dirname, join } = require('node:path')
const { Script } = require('node:vm')

/** The cache directory, created when missing; undefined when it is not ours alone or cannot be made. */
function cacheDir() {
  const env = process.env
  if (env.NODE_DISABLE_COMPILE_CACHE) return undefined
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), process.platform === 'darwin' ? 'Library/Caches' : '.cache')
  const dir = join(base, 'sstash')
  try {
    // Made once; later runs only look at it.
    let info = lstatSync(dir, { throwIfNoEntry: false })
    if (!info) {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      info = lstatSync(dir)
    }
    const uid = process.getuid ? process.getuid() : info.uid
    return info.isDirectory() && info.uid === uid && (info.mode & 0o077) === 0 ? dir : undefined
  } catch {
    return undefined
  }
}

/** Loads dist/bundle/<name>.cjs as a CommonJS module and returns its exports. */
function loadBundle(name) {
  const file = join(__dirname, '..', 'dist', 'bundle', `${name}.cjs`)
  const source = readFileSync(file, 'utf8')
  const build = /\/\/# sstash-build=([0-9a-f]{16,64})\s*$/.exec(source.slice(-100))
  const dir = build ? cacheDir() : undefined
  // One cache per command (`get`, `store`, `set`...): V8 saves the functions the first run
  // compiled, and a `get` should not have to live with what a `store` needed.
  const command = /^[a-z][a-z-]{0,31}$/.test(process.argv[2] ?? '') ? `-${process.argv[2]}` : ''
  const cacheFile = dir && join(dir, `${name}${command}-${build[1]}-${process.version}-${process.arch}.v8`)
  let cachedData
  if (cacheFile) {
    try {
      cachedData = readFileSync(cacheFile)
    } catch {
      cachedData = undefined
    }
  }
  const script = new Script(wrap(source), { filename: file, cachedData })
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    // Saved at exit, so that it also holds the functions this run compiled lazily.
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`
      try {
        writeFileSync(tmp, script.createCachedData(), { mode: 0o600 })
        renameSync(tmp, cacheFile)
      } catch {
        try {
          unlinkSync(tmp)
        } catch {}
      }
    })
  }
  const bundle = { exports: {} }
  script.runInThisContext()(bundle.exports, createRequire(file), bundle, file, dirname(file))
  return bundle.exports
}

module.exports = { loadBundle }
