/**
 * bin/run-bundle.cjs: the binaries save V8's compiled code for their bundle and reuse it. The
 * cache is code, so it lives only in a directory only this user can write, and a bad or
 * foreign cache never breaks a run.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runBin, tempDir } from '../helpers.js'

const version = (JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version

/** Runs `sstash --version` with its cache under `cacheHome`, checking it works. */
async function runWithCache(cacheHome: string, env: Record<string, string> = {}): Promise<void> {
  const result = await runBin('sstash', ['--version'], { env: { XDG_CACHE_HOME: cacheHome, NODE_DISABLE_COMPILE_CACHE: undefined, ...env } })
  expect(result.stderr).toBe('')
  expect(result.stdout).toContain(version)
  expect(result.code).toBe(0)
}

const cacheFiles = (dir: string): string[] => readdirSync(dir).filter((name) => name.startsWith('sstash-'))

describe('the code cache', () => {
  it('is saved once, 0600 in a 0700 directory, named by the bundle hash and Node, then reused', async () => {
    const home = tempDir()
    await runWithCache(home)
    const dir = join(home, 'sstash')
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    const [name, ...others] = cacheFiles(dir)
    expect(others).toEqual([])
    expect(name).toMatch(new RegExp(`^sstash-[0-9a-f]{64}-${process.version}-${process.arch}\\.v8$`))
    const file = join(dir, name as string)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const before = statSync(file)
    await runWithCache(home)
    // Accepted by V8, so not written again (a rewrite renames a new file into place).
    expect(statSync(file).ino).toBe(before.ino)
    expect(cacheFiles(dir)).toEqual([name])
  })

  it('keeps one cache per command, so that each holds what its command compiled', async () => {
    const home = tempDir()
    const result = await runBin('git', ['capability'], { env: { XDG_CACHE_HOME: home, NODE_DISABLE_COMPILE_CACHE: undefined } })
    expect(result.code).toBe(0)
    expect(readdirSync(join(home, 'sstash'))).toEqual([expect.stringMatching(/^git-credential-sstash-capability-[0-9a-f]{64}-v\d+\.\d+\.\d+-\w+\.v8$/)])
  })

  it('ignores a damaged cache file and replaces it', async () => {
    const home = tempDir()
    await runWithCache(home)
    const dir = join(home, 'sstash')
    const file = join(dir, cacheFiles(dir)[0] as string)
    const garbage = Buffer.alloc(statSync(file).size, 0x5a)
    writeFileSync(file, garbage)
    await runWithCache(home)
    expect(readFileSync(file).equals(garbage)).toBe(false)
  })

  it('neither reads nor writes a cache directory that others can write to', async () => {
    const home = tempDir()
    const dir = join(home, 'sstash')
    mkdirSync(dir)
    chmodSync(dir, 0o777)
    await runWithCache(home)
    expect(readdirSync(dir)).toEqual([])
  })

  it('is off with NODE_DISABLE_COMPILE_CACHE', async () => {
    const home = tempDir()
    await runWithCache(home, { NODE_DISABLE_COMPILE_CACHE: '1' })
    expect(readdirSync(home)).toEqual([])
  })
})
