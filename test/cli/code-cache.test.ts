/**
 * bin/run-bundle.cjs: on Node 22.1 and later the binaries turn on Node's own compile cache, in a
 * directory only this user can write, one folder per Node version, bounded; Node 20 runs
 * without one. The suite itself never writes into the user's cache (test/global-setup.ts).
 */
import { appendFileSync, chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import nodeModule from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, runBin, runCommand, tempDir, type RunResult } from '../helpers.js'

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
// @types/node is Node 20's, which has no compile cache.
const hasCache = 'enableCompileCache' in nodeModule
const nodeDir = `node-${process.version}-${process.arch}`
const cacheEnv = (home: string, env: Record<string, string> = {}) => ({ XDG_CACHE_HOME: home, NODE_DISABLE_COMPILE_CACHE: undefined, NODE_COMPILE_CACHE: undefined, ...env })

/** Runs `sstash <args>` with its cache under `home`. */
const sstash = (home: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> => runBin('sstash', args, { env: cacheEnv(home, env) })

/** Runs `sstash --version` with its cache under `home`, checking it works. */
async function runWithCache(home: string, env: Record<string, string> = {}): Promise<void> {
  const result = await sstash(home, ['--version'], env)
  expect(result.stderr).toBe('')
  expect(result.stdout).toContain(version)
  expect(result.code).toBe(0)
}

/** Every file under `dir`, relative to it. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => statSync(join(dir, name)).isFile()).sort()

describe.skipIf(!hasCache)('the compile cache (Node 22.1 and later)', () => {
  it('is written by Node into a 0700 folder of ours for this Node version, then reused', async () => {
    const home = tempDir()
    await runWithCache(home)
    const top = join(home, 'sstash')
    expect(statSync(top).mode & 0o777).toBe(0o700)
    expect(readdirSync(top)).toEqual([nodeDir])
    expect(statSync(join(top, nodeDir)).mode & 0o777).toBe(0o700)
    const files = filesUnder(top)
    expect(files).toHaveLength(1)
    const file = join(top, files[0] as string)
    expect(statSync(file).mode & 0o077).toBe(0)
    const before = statSync(file)
    await runWithCache(home)
    // Accepted by Node, so not written again.
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs)
    expect(filesUnder(top)).toEqual(files)
  })

  it('adds no file for a mistyped command or another command of the same binary', async () => {
    const home = tempDir()
    await runWithCache(home)
    const files = filesUnder(join(home, 'sstash'))
    for (const typo of ['lss', 'gett', 'unlokc']) expect((await sstash(home, [typo])).code).not.toBe(0)
    expect((await sstash(home, ['--help'])).code).toBe(0)
    expect(filesUnder(join(home, 'sstash'))).toEqual(files)
  })

  it('replaces the file of a bundle that changed (a new build) instead of adding one', async () => {
    // A private copy of the built package, so that its bundle can be changed.
    const copy = tempDir()
    for (const part of ['bin', 'dist/bundle', 'package.json']) cpSync(join(ROOT, part), join(copy, part), { recursive: true })
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'))
    const home = tempDir()
    const run = () => runCommand(process.execPath, [join(copy, 'bin/sstash.cjs'), '--version'], { env: cacheEnv(home) })
    expect((await run()).code).toBe(0)
    const [file, ...others] = filesUnder(join(home, 'sstash'))
    expect(others).toEqual([])
    const before = readFileSync(join(home, 'sstash', file as string))
    appendFileSync(join(copy, 'dist/bundle/sstash.cjs'), '\n// a new build\n')
    expect((await run()).code).toBe(0)
    expect(filesUnder(join(home, 'sstash'))).toEqual([file])
    expect(readFileSync(join(home, 'sstash', file as string)).equals(before)).toBe(false)
  })

  it('keeps, on the first run with a new Node, the folders of the two Nodes used last, and nothing else', async () => {
    const home = tempDir()
    const top = join(home, 'sstash')
    const olderNodes = ['node-v22.1.0-x64', 'node-v22.2.0-x64', 'node-v22.3.0-x64', 'node-v22.4.0-x64']
    olderNodes.forEach((name, i) => {
      mkdirSync(join(top, name, 'v0-x64-0-0'), { recursive: true, mode: 0o700 })
      writeFileSync(join(top, name, 'v0-x64-0-0', '1234abcd'), 'old code')
      // Used last: the highest mtime.
      utimesSync(join(top, name), 1_000 + i, 1_000 + i)
    })
    writeFileSync(join(top, `sstash-get-${'0'.repeat(64)}-v20.19.0-x64.v8`), 'the old code cache')
    chmodSync(top, 0o700)
    await runWithCache(home)
    expect(readdirSync(top).sort()).toEqual([nodeDir, 'node-v22.3.0-x64', 'node-v22.4.0-x64'].sort())
    // The folder of a Node in use is only looked at.
    await runWithCache(home)
    expect(readdirSync(top)).toHaveLength(3)
  })

  it('ignores a damaged cache file and replaces it', async () => {
    const home = tempDir()
    await runWithCache(home)
    const file = join(home, 'sstash', filesUnder(join(home, 'sstash'))[0] as string)
    const garbage = Buffer.alloc(statSync(file).size, 0x5a)
    writeFileSync(file, garbage)
    await runWithCache(home)
    expect(readFileSync(file).equals(garbage)).toBe(false)
  })

  it('is not used once the folder above it can be written by others', async () => {
    const home = tempDir()
    await runWithCache(home)
    const top = join(home, 'sstash')
    const tag = readdirSync(join(top, nodeDir))[0] as string
    rmSync(join(top, nodeDir, tag), { recursive: true })
    chmodSync(top, 0o777)
    await runWithCache(home)
    // Used, Node would have written the bundle's file again.
    expect(readdirSync(join(top, nodeDir))).toEqual([])
  })

  it('leaves a NODE_COMPILE_CACHE of the user\'s own as it is', async () => {
    const home = tempDir()
    const own = tempDir()
    await runWithCache(home, { NODE_COMPILE_CACHE: own })
    expect(readdirSync(home)).toEqual([])
    expect(filesUnder(own).length).toBeGreaterThan(0)
  })
})

describe('the cache directory', () => {
  it('is neither read nor written when others can write to it', async () => {
    const home = tempDir()
    const dir = join(home, 'sstash')
    mkdirSync(dir)
    chmodSync(dir, 0o777)
    await runWithCache(home)
    expect(readdirSync(dir)).toEqual([])
  })

  it('is not made with NODE_DISABLE_COMPILE_CACHE', async () => {
    const home = tempDir()
    await runWithCache(home, { NODE_DISABLE_COMPILE_CACHE: '1' })
    expect(readdirSync(home)).toEqual([])
  })

  it.skipIf(hasCache)('is not made on Node 20, which runs without a cache', async () => {
    const home = tempDir()
    await runWithCache(home)
    expect(readdirSync(home)).toEqual([])
  })

  it('is, for the test suite, a private one and not the user\'s', () => {
    const cache = process.env.XDG_CACHE_HOME ?? ''
    expect(cache.startsWith(join(tmpdir(), 'sstash-test-cache-'))).toBe(true)
    expect(statSync(cache).mode & 0o077).toBe(0)
  })
})
