/**
 * A plain `sstash get` answered by the agent: the small bundle (src/cli/get-agent.ts) asks the
 * agent's `read` for the one key, and leaves everything else to the bundle that opens the stash
 * (src/cli/get.ts). Proven against that path: the same bytes, codes and messages with the agent
 * and without it, for every kind of key; and what the agent must not be made to serve.
 * Real agent processes, real sockets, the built binaries.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { BIN, agentEnvs, agentRuntimeDir, makeStash, plantedRuntime, runBin, runBundled, tempDir, withLooseAgentDir, type BundledResult } from '../helpers.js'

const PASSWORD = 'stash password'
const dir = tempDir()
const home = join(dir, 'home')
const stash = join(dir, 'values.sstash')
const runtime = agentRuntimeDir()

type Env = Record<string, string | undefined>

/** The stash unlocked in the agent, no password anywhere; and no agent at all, the password from the environment. */
const { common, withAgent, withoutAgent, unlock } = agentEnvs(home, runtime, PASSWORD)

/** `sstash <args>`, and which bundles it loaded. */
const sstash = (args: string[], env: Env): Promise<BundledResult> => runBundled('sstash', args, { cwd: home, env })

beforeAll(async () => {
  mkdirSync(home, { recursive: true })
  await makeStash(stash, PASSWORD, {
    'app/TOKEN': 'token-value',
    'app/LINE': 'ends with a newline\n',
    'app/EMPTY': '',
    'app/nested/deep': 'deep',
    'bytes/raw': new Uint8Array([0, 255, 10, 13, 0xc3]),
    'odd name/with\\slash': 'escaped',
  })
  await unlock(stash)
})

describe('sstash get through the agent', () => {
  const VALUES: [string, string][] = [
    ['a value', 'app/TOKEN'],
    ['a value that ends with a newline', 'app/LINE'],
    ['an empty value', 'app/EMPTY'],
    ['bytes that are not text', 'bytes/raw'],
    ['a key path with an escaped slash', 'odd name/with\\\\slash'],
  ]

  it.each(VALUES)('prints %s as the stash opened without the agent does, loading the small bundle alone', async (_, keypath) => {
    const fast = await sstash(['--stash', stash, 'get', keypath], withAgent)
    const slow = await sstash(['--stash', stash, 'get', keypath], withoutAgent())
    expect(fast.code).toBe(0)
    expect({ ...fast, bundles: [] }).toEqual({ ...slow, bundles: [] })
    expect(fast.bundles).toEqual(['sstash-get-agent'])
    expect(slow.bundles).toEqual(['sstash-get', 'sstash-get-agent'])
  })

  const OTHERS: [string, string[]][] = [
    ['a key that is missing', ['--stash', stash, 'get', 'app/NOPE']],
    ['a key below a value', ['--stash', stash, 'get', 'app/TOKEN/below']],
    ['a key that only has children', ['--stash', stash, 'get', 'app/nested']],
    ['a key path that does not parse', ['--stash', stash, 'get', 'app\\']],
    ['a stash that does not exist', ['--stash', join(dir, 'missing.sstash'), 'get', 'app/TOKEN']],
  ]

  it.each(OTHERS)('leaves %s to the bundle that opens the stash, which says the same as without the agent', async (_, args) => {
    const fast = await sstash(args, withAgent)
    const slow = await sstash(args, withoutAgent())
    expect(fast.code).not.toBe(0)
    expect(fast.stderr).toMatch(/^sstash: error: /)
    expect({ ...fast, bundles: [] }).toEqual({ ...slow, bundles: [] })
    expect(fast.bundles).toContain('sstash-get')
  })

  it('prints the bytes as stored, with no newline added for a pipe', () => {
    const bytes = spawnSync(process.execPath, ['--', BIN.sstash, '--stash', stash, 'get', 'bytes/raw'], { env: { ...process.env, ...withAgent } }).stdout
    expect([...bytes]).toEqual([0, 255, 10, 13, 0xc3])
  })

  it('leaves any other command line to the full sstash, and never loads the bundle that opens the stash for it', async () => {
    const result = await sstash(['--stash', stash, 'get', 'app/TOKEN', '--nope'], withAgent)
    expect(result.code).toBe(2)
    expect(result.bundles).toEqual(['sstash', 'sstash-get-agent'])
  })

  it('reads SSTASH_FILE, and the stash behind a symbolic link, as the agent holds its real path', async () => {
    expect((await sstash(['get', 'app/TOKEN'], { ...withAgent, SSTASH_FILE: stash })).stdout).toBe('token-value')
    const link = join(dir, 'link.sstash')
    symlinkSync(stash, link)
    const viaLink = await sstash(['--stash', link, 'get', 'app/TOKEN'], withAgent)
    expect(viaLink).toMatchObject({ code: 0, stdout: 'token-value', bundles: ['sstash-get-agent'] })
  })
})

describe('sstash get through the agent, as an attacker would use it', () => {
  it('does not read a file put in the place of the stash: the agent holds the file as it was', async () => {
    const copy = join(dir, 'swapped.sstash')
    copyFileSync(stash, copy)
    const env = { ...withAgent, SSTASH_PASSWORD: PASSWORD }
    expect((await sstash(['--stash', copy, 'get', 'app/TOKEN'], env)).code).toBe(0)
    // Another stash, of another password, where the held one was.
    await makeStash(join(dir, 'attacker.sstash'), 'attacker password', { 'app/TOKEN': 'planted' })
    copyFileSync(join(dir, 'attacker.sstash'), copy)
    const result = await sstash(['--stash', copy, 'get', 'app/TOKEN'], { ...withAgent, SSTASH_PASSWORD: 'wrong' })
    expect(result.stdout).toBe('')
    expect(result.code).not.toBe(0)
    expect(result.bundles).toContain('sstash-get')
  })

  it('does not use an agent directory that other users could reach: it warns once and opens the stash itself', async () => {
    const result = await withLooseAgentDir(runtime, () => sstash(['--stash', stash, 'get', 'app/TOKEN'], { ...withAgent, SSTASH_PASSWORD: PASSWORD }))
    expect(result.stdout).toBe('token-value')
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^sstash: warning: not using the agent: refusing the agent directory /)])
    expect(result.bundles).toEqual(['sstash-get', 'sstash-get-agent'])
  })

  it('never answers from a socket of another directory: XDG_RUNTIME_DIR pointing at a planted socket is no agent', async () => {
    const result = await sstash(['--stash', stash, 'get', 'app/TOKEN'], { ...common, XDG_RUNTIME_DIR: plantedRuntime(dir), SSTASH_PASSWORD: PASSWORD })
    expect(result).toMatchObject({ code: 0, stdout: 'token-value', stderr: '' })
    expect(result.bundles).toEqual(['sstash-get', 'sstash-get-agent'])
  })
})
