/**
 * `sstash-run` whose read the agent serves: the small bundle (src/cli/run-agent.ts) runs the
 * whole line with a read that only asks the agent, and hands anything else to the bundle that
 * opens the stash (src/cli/sstash-run.ts). Proven against that path: the same environment,
 * output, codes and messages with the agent and without it; and what the agent must not be made
 * to serve. Real agent processes, real sockets, real commands, the built binaries.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { agentEnvs, agentRuntimeDir, makeStash, plantedRuntime, runBin, runBundled, tempDir, withLooseAgentDir, type BundledResult } from '../helpers.js'

const PASSWORD = 'stash password'
const dir = tempDir()
const home = join(dir, 'home')
const project = join(dir, 'project')
const stash = join(dir, 'values.sstash')
const refs = join(dir, '.env.sstash')
const unresolved = join(dir, 'unresolved.env.sstash')
const runtime = agentRuntimeDir()

type Env = Record<string, string | undefined>

const { common, withAgent, withoutAgent, unlock } = agentEnvs(home, runtime, PASSWORD, { SSTASH_FILE: stash })

/** The child's environment as `env` prints it, less what differs between the two runs by design. */
const PRINT_ENV = ['sh', '-c', 'env | grep -v -e ^XDG_RUNTIME_DIR= -e ^NODE_DEBUG= | sort']

/** `sstash-run <args>`, and which bundles it loaded. */
const run = (args: string[], env: Env, cwd = home): Promise<BundledResult> => runBundled('run', args, { cwd, env })

/** The same line with the stash unlocked in the agent and with no agent at all. */
async function both(args: string[], cwd?: string): Promise<{ fast: BundledResult; slow: BundledResult }> {
  return { fast: await run(args, withAgent, cwd), slow: await run(args, withoutAgent(), cwd) }
}

beforeAll(async () => {
  mkdirSync(home, { recursive: true })
  mkdirSync(project, { recursive: true })
  await makeStash(stash, PASSWORD, {
    'app/TOKEN': 'token-value',
    'app/LINE': 'two\nlines',
    'app/EMPTY': '',
    'app/db/host': 'db.internal',
    'more/TOKEN': 'the later one wins',
    'danger/LD_PRELOAD': '/tmp/evil.so',
  })
  writeFileSync(refs, 'API_TOKEN=sstash://app/TOKEN\nPLAIN=plain value\n')
  writeFileSync(unresolved, 'GONE=sstash://app/NOPE\n')
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'p', sstash: { keys: ['app'] } }))
  await unlock(stash)
})

describe('sstash-run through the agent', () => {
  const LINES: [string, string[], string?][] = [
    ['a subtree', ['-k', 'app', '--', ...PRINT_ENV]],
    ['two subtrees and a prefix', ['--prefix', 'P_', '-k', 'app', '-k', 'more', '--', ...PRINT_ENV]],
    ['a reference file', ['--env-file', refs, '--', ...PRINT_ENV]],
    ["the package.json's field", ['--', ...PRINT_ENV], project],
    ['--mask', ['--mask', '-k', 'app', '--', 'sh', '-c', 'echo "$TOKEN"; echo "$TOKEN" >&2']],
    ['a command that is not found', ['-k', 'app', '--', 'no-such-command-for-sstash']],
  ]

  it.each(LINES)('runs %s as the stash opened without the agent does, loading the small bundle alone', async (_, args, cwd) => {
    const { fast, slow } = await both(args, cwd)
    expect({ ...fast, bundles: [] }).toEqual({ ...slow, bundles: [] })
    expect(fast.bundles).toEqual(['sstash-run-agent'])
    expect(slow.bundles).toEqual(['sstash-run', 'sstash-run-agent'])
  })

  it('prints its help from the small bundle, agent or not', async () => {
    const { fast, slow } = await both(['--help'])
    expect(fast).toEqual(slow)
    expect(fast).toMatchObject({ code: 0, stdout: expect.stringMatching(/^usage: sstash-run /), bundles: ['sstash-run-agent'] })
  })

  it('gives the command the values, and no password variable', async () => {
    const { fast } = await both(['-k', 'app', '--', ...PRINT_ENV])
    expect(fast.code).toBe(0)
    expect(fast.stdout).toContain('TOKEN=token-value\n')
    expect(fast.stdout).toContain('db_host=db.internal\n')
    expect(fast.stdout).not.toMatch(/SSTASH_PASSWORD/)
  })

  const OTHERS: [string, string[]][] = [
    ['a key path that is missing', ['-k', 'nope', '--', 'true']],
    ['a name refused by default', ['-k', 'danger', '--', 'true']],
    ['a reference that does not resolve', ['--env-file', unresolved, '--', 'true']],
    ['an unknown option', ['--nope', '--', 'true']],
    ['a stash that does not exist', ['--stash', join(dir, 'missing.sstash'), '-k', 'app', '--', 'true']],
  ]

  it.each(OTHERS)('leaves %s to the bundle that opens the stash, which says the same as without the agent', async (_, args) => {
    const { fast, slow } = await both(args)
    expect(fast.code).not.toBe(0)
    expect(fast.stderr).toMatch(/^sstash: error: /)
    expect({ ...fast, bundles: [] }).toEqual({ ...slow, bundles: [] })
    expect(fast.bundles).toContain('sstash-run')
  })
})

describe('sstash-run through the agent, as an attacker would use it', () => {
  it('does not read a file put in the place of the stash: the agent holds the file as it was', async () => {
    const copy = join(dir, 'swapped.sstash')
    copyFileSync(stash, copy)
    const args = ['--stash', copy, '-k', 'app', '--', 'sh', '-c', 'printf %s "$TOKEN"']
    expect((await run(args, { ...withAgent, SSTASH_PASSWORD: PASSWORD })).stdout).toBe('token-value')
    // Another stash, of another password, where the held one was.
    await makeStash(join(dir, 'attacker.sstash'), 'attacker password', { 'app/TOKEN': 'planted' })
    copyFileSync(join(dir, 'attacker.sstash'), copy)
    const result = await run(args, { ...withAgent, SSTASH_PASSWORD: 'wrong' })
    expect(result.stdout).toBe('')
    expect(result.code).not.toBe(0)
    expect(result.bundles).toContain('sstash-run')
  })

  it('does not use an agent directory that other users could reach: it warns once and opens the stash itself', async () => {
    const result = await withLooseAgentDir(runtime, () => run(['-k', 'app', '--', 'sh', '-c', 'printf %s "$TOKEN"'], { ...withAgent, SSTASH_PASSWORD: PASSWORD }))
    expect(result.stdout).toBe('token-value')
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^sstash: warning: not using the agent: refusing the agent directory /)])
    expect(result.bundles).toEqual(['sstash-run', 'sstash-run-agent'])
  })

  it('never takes values from a socket of another directory: XDG_RUNTIME_DIR pointing at a planted file is no agent', async () => {
    const result = await run(['-k', 'app', '--', 'sh', '-c', 'printf %s "$TOKEN"'], { ...common, XDG_RUNTIME_DIR: plantedRuntime(dir), SSTASH_PASSWORD: PASSWORD })
    expect(result).toMatchObject({ code: 0, stdout: 'token-value', stderr: '' })
    expect(result.bundles).toEqual(['sstash-run', 'sstash-run-agent'])
  })
})
