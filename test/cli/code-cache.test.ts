/**
 * bin/run-bundle.cjs: the binaries compile their bundle with a V8 code cache of their own, saved
 * by the first runs of each command, in a directory only this user can write, one folder per
 * Node version, bounded. The suite itself never writes into the user's cache (test/global-setup.ts).
 */
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, makeStash, runBin, runCommand, tempDir, type RunResult } from '../helpers.js'

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
const hasExecve = typeof (process as { execve?: unknown }).execve === 'function'
const nodeDir = `node-${process.version}-${process.arch}`
const cacheEnv = (home: string, env: Record<string, string> = {}) => ({ XDG_CACHE_HOME: home, NODE_DISABLE_COMPILE_CACHE: undefined, ...env })

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
/** The cache files under `dir` without their build hash, sorted after it is gone (a hash must not decide the order). */
const stemsUnder = (dir: string): string[] => filesUnder(dir).map((f) => f.replace(/-[0-9a-f]{16}\.v8$/, '')).sort()

/** How many runs a cache file holds the code of (its first byte). */
const runsIn = (file: string): number | undefined => readFileSync(file)[0]

describe('the code cache', () => {
  it('is saved by the first three runs of a command into a 0700 folder of ours for this Node version, then only read', async () => {
    const home = tempDir()
    await runWithCache(home)
    const top = join(home, 'sstash')
    expect(statSync(top).mode & 0o777).toBe(0o700)
    expect(readdirSync(top)).toEqual([nodeDir])
    expect(statSync(join(top, nodeDir)).mode & 0o777).toBe(0o700)
    const files = filesUnder(top)
    expect(files).toEqual([expect.stringMatching(new RegExp(`^${nodeDir}/sstash-[0-9a-f]{16}\\.v8$`))])
    const file = join(top, files[0] as string)
    expect(statSync(file).mode & 0o077).toBe(0)
    expect(runsIn(file)).toBe(1)
    await runWithCache(home)
    await runWithCache(home)
    expect(runsIn(file)).toBe(3)
    const before = statSync(file)
    await runWithCache(home)
    // Accepted by V8, and three runs merged: not written again.
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs)
    expect(filesUnder(top)).toEqual(files)
  })

  it('keeps one file per command, and adds none for a mistyped command or a failed run', async () => {
    const home = tempDir()
    await runWithCache(home)
    for (const typo of ['lss', 'gett', 'unlokc']) expect((await sstash(home, [typo])).code).not.toBe(0)
    expect((await sstash(home, ['get', 'no/such/key'], { SSTASH_FILE: join(home, 'none.sstash') })).code).not.toBe(0)
    expect((await sstash(home, ['--help'])).code).toBe(0)
    expect(stemsUnder(join(home, 'sstash'))).toEqual([`${nodeDir}/sstash`])
    expect((await sstash(home, ['ls', '--help'])).code).toBe(0)
    expect(stemsUnder(join(home, 'sstash'))).toEqual([`${nodeDir}/sstash`, `${nodeDir}/sstash.ls`])
  })

  it('keeps a file for a command apart from the bundle named the same way (`sstash` and `get`, `sstash-get`)', async () => {
    const home = tempDir()
    const stash = join(home, 's.sstash')
    await makeStash(stash, 'pw', { k: 'v' })
    // A plain get the agent cannot answer runs sstash-get-agent, then sstash-get; `get --help` runs
    // sstash-get-agent and sstash, each with the command `get`.
    expect((await sstash(home, ['--stash', stash, 'get', 'k'], { SSTASH_PASSWORD: 'pw', XDG_RUNTIME_DIR: tempDir() })).stdout).toBe('v')
    expect((await sstash(home, ['get', '--help'])).code).toBe(0)
    expect(stemsUnder(join(home, 'sstash'))).toEqual([`${nodeDir}/sstash-get`, `${nodeDir}/sstash-get-agent`, `${nodeDir}/sstash-get-agent.get`, `${nodeDir}/sstash.get`])
  })

  it('keeps the files of the last two builds of a bundle (a new build, or a global and a project\'s install), and no more', async () => {
    // A private copy of the built package, so that its bundle can be changed.
    const copy = tempDir()
    for (const part of ['bin', 'dist/bundle', 'package.json']) cpSync(join(ROOT, part), join(copy, part), { recursive: true })
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'))
    const home = tempDir()
    const bundle = join(copy, 'dist/bundle/sstash.cjs')
    const built = readFileSync(bundle, 'utf8')
    const names = () => filesUnder(join(home, 'sstash')).map((f) => /-([0-9a-f]{16})\.v8$/.exec(f)?.[1])
    /** Runs `sstash --version` built as `hash`: other code of the same length (V8 checks only the length). */
    const runAs = async (hash: string, runtime: string) => {
      writeFileSync(bundle, built.replace('runtimeName="node"', `runtimeName="${runtime}"`).replace(/sstash-build=[0-9a-f]{16}/, `sstash-build=${hash}`))
      const result = await runCommand(process.execPath, [join(copy, 'bin/sstash.cjs'), '--version'], { env: cacheEnv(home) })
      expect(result.stdout).toContain(`${runtime}-`)
      expect(result.code).toBe(0)
    }
    const [a, b, c] = ['a'.repeat(16), 'b'.repeat(16), 'c'.repeat(16)]
    await runAs(a, 'nodA')
    await runAs(b, 'nodB')
    expect(names()).toEqual([a, b])
    // Each build runs its own code, not the other's cache, and neither removes the other's.
    await runAs(a, 'nodA')
    await runAs(b, 'nodB')
    expect(names()).toEqual([a, b])
    await runAs(c, 'nodC')
    expect(names()).toEqual([b, c])
  })

  it('is not used for a bundle without its hash', async () => {
    const copy = tempDir()
    for (const part of ['bin', 'dist/bundle', 'package.json']) cpSync(join(ROOT, part), join(copy, part), { recursive: true })
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'))
    const bundle = join(copy, 'dist/bundle/sstash.cjs')
    writeFileSync(bundle, readFileSync(bundle, 'utf8').replace(/\/\/# sstash-build=[0-9a-f]{16}\n$/, ''))
    const home = tempDir()
    expect((await runCommand(process.execPath, [join(copy, 'bin/sstash.cjs'), '--version'], { env: cacheEnv(home) })).code).toBe(0)
    expect(readdirSync(home)).toEqual([])
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
    expect(runsIn(file)).toBe(1)
  })

  it('is not used once the folder above it can be written by others', async () => {
    const home = tempDir()
    await runWithCache(home)
    const top = join(home, 'sstash')
    rmSync(join(top, nodeDir), { recursive: true })
    mkdirSync(join(top, nodeDir), { mode: 0o700 })
    chmodSync(top, 0o777)
    await runWithCache(home)
    // Used, the run would have written the bundle's file again.
    expect(readdirSync(join(top, nodeDir))).toEqual([])
  })

  it('holds no password and no value of the runs that saved it', async () => {
    const home = tempDir()
    const path = join(tempDir(), 's.sstash')
    const [password, value, typed] = ['pw-7f3a9c1e5b2d8f40', 'value-c0ffee11d00dfeed', 'typed-0badcafe5eed1234']
    await makeStash(path, password, { 'app/TOKEN': value })
    const env = cacheEnv(home, { SSTASH_PASSWORD: password, SSTASH_FILE: path, SSTASH_AGENT_TIMEOUT: '0' })
    for (let i = 0; i < 3; i++) {
      expect((await runBin('sstash', ['get', 'app/TOKEN'], { env })).stdout).toContain(value)
      expect((await runBin('sstash', ['set', `app/T${i}`], { env, input: typed })).code).toBe(0)
      expect((await runBin('run', ['-k', 'app', '--', 'true'], { env })).code).toBe(0)
      expect((await runBin('git', ['get'], { env: { ...env, SSTASH_FILE: path }, input: 'protocol=https\nhost=example.com\n\n' })).code).toBe(0)
    }
    const files = filesUnder(join(home, 'sstash'))
    expect(files.length).toBeGreaterThanOrEqual(4)
    for (const file of files) {
      const bytes = readFileSync(join(home, 'sstash', file))
      for (const secret of [password, value, typed]) for (const encoding of ['latin1', 'utf16le'] as const) expect(bytes.includes(Buffer.from(secret, encoding))).toBe(false)
    }
  })

  it.skipIf(!hasExecve)('is saved by both halves of sstash-run before it becomes its command (execve)', async () => {
    const home = tempDir()
    const path = join(tempDir(), 's.sstash')
    await makeStash(path, 'pw', { 'app/TOKEN': 'x' })
    const result = await runBin('run', ['--stash', path, '-k', 'app', '--', 'true'], { env: cacheEnv(home, { SSTASH_PASSWORD: 'pw' }) })
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    // The first half found no agent and handed the line to the full bundle: each saved its own.
    expect(stemsUnder(join(home, 'sstash'))).toEqual([`${nodeDir}/sstash-run`, `${nodeDir}/sstash-run-agent`])
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

  it('is, for the test suite, a private one and not the user\'s', () => {
    const cache = process.env.XDG_CACHE_HOME ?? ''
    expect(cache.startsWith(join(tmpdir(), 'sstash-test-cache-'))).toBe(true)
    expect(statSync(cache).mode & 0o077).toBe(0)
  })
})
