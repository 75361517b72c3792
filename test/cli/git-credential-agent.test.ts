/**
 * `git-credential-sstash get` answered by the agent: the small bundle (src/cli/git-credential-get.ts)
 * sends git's request as it is, the agent's `credential` request (src/agent/credential.ts) maps
 * and reads it. Proven against the helper's own path: the same lines for the same requests, and
 * every case the agent cannot answer left to the full helper, which says what it always said.
 * Real agent processes, real sockets, the built binaries.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseRequest } from '../../src/agent/protocol.js'
import { agentRequest } from '../../src/agent/request.js'
import { SOCKET_NAME } from '../../src/locations.js'
import { agentEnvs, agentRuntimeDir, makeStash, runBin, tempDir, type RunResult } from '../helpers.js'

const PASSWORD = 'stash password'
const dir = tempDir()
const home = join(dir, 'home')
const stash = join(dir, 'creds.sstash')
const runtime = agentRuntimeDir()
const socket = join(runtime, 'sstash', SOCKET_NAME)

type Env = Record<string, string | undefined>

/** The stash unlocked in the agent, no password anywhere; and no agent at all, the password from the environment. */
const { common, withAgent, withoutAgent, unlock } = agentEnvs(home, runtime, PASSWORD, { GIT_TERMINAL_PROMPT: '0' })

const lines = (...items: string[]): string => items.map((line) => `${line}\n`).join('')

/** Whether Node's module debug lines (NODE_DEBUG=module) show the full helper's bundle loaded. */
const loadedFull = (stderr: string): boolean => /^MODULE \d+: .*dist\/bundle\/git-credential-sstash\.cjs/m.test(stderr)

/** Runs the helper with Node's module debug lines on; stderr keeps only what the helper wrote. */
async function helper(input: string, env: Env, args: string[] = []): Promise<RunResult & { full: boolean }> {
  const result = await runBin('git', ['--stash', stash, ...args, 'get'], { input, cwd: home, env: { ...env, NODE_DEBUG: 'module' } })
  return { ...result, stderr: result.stderr.replace(/^MODULE \d+: .*\n/gm, ''), full: loadedFull(result.stderr) }
}

beforeAll(async () => {
  mkdirSync(join(home, 'config', 'sstash'), { recursive: true })
  writeFileSync(
    join(home, 'config', 'sstash', 'git.json'),
    JSON.stringify({ rules: [{ url: 'https://*.svc.example.com', key: 'project/Svc', username: 'user', password: 'token' }] }),
  )
  await makeStash(stash, PASSWORD, {
    'project/Svc/token': 'svc-token\n',
    'project/Svc/user': 'svc-user',
    'other/secret': 'never-for-git',
  })
  // The helper's own layout, written by the helper itself.
  const store = (...attributes: string[]) => runBin('git', ['--stash', stash, 'store'], { input: lines(...attributes), env: withoutAgent() })
  await store('protocol=https', 'host=example.com', 'username=bob', 'password=bob-pw', 'password_expiry_utc=4102444800', 'oauth_refresh_token=refresh')
  await store('protocol=https', 'host=example.com', 'username=alice', 'password=alice-pw')
  await store('protocol=https', 'host=example.com', 'path=repo.git', 'username=carol', 'password=carol-pw')
  await store('protocol=https', 'host=expired.example.com', 'username=bob', 'password=old-pw', 'password_expiry_utc=1000')
  await store('capability[]=authtype', 'protocol=https', 'host=token.example.com', 'authtype=Bearer', 'credential=bearer-token')
  await unlock(stash)
})

const REQUESTS: [string, string, string[]?][] = [
  ['a host with two users', lines('protocol=https', 'host=example.com')],
  ['one user of them', lines('protocol=https', 'host=example.com', 'username=alice')],
  ['a path that has its own credential', lines('protocol=https', 'host=example.com', 'path=repo.git')],
  ['the state and authtype capabilities', lines('capability[]=authtype', 'capability[]=state', 'protocol=https', 'host=example.com')],
  ['an expired password', lines('protocol=https', 'host=expired.example.com')],
  ['a bearer token, with the authtype capability', lines('capability[]=authtype', 'protocol=https', 'host=token.example.com')],
  ['a bearer token, without it', lines('protocol=https', 'host=token.example.com')],
  ['a mapping rule', lines('protocol=https', 'host=api.svc.example.com')],
  ['a mapping rule with another user', lines('protocol=https', 'host=api.svc.example.com', 'username=mallory')],
  ['a host with nothing stored', lines('protocol=https', 'host=unknown.example.com')],
  ['no host', lines('protocol=https')],
  ['a url= line and CRLF line ends', 'url=https://alice@example.com/\r\n\r\n'],
  ['another prefix', lines('protocol=https', 'host=example.com'), ['--prefix', 'nothing/here']],
]

describe('git-credential-sstash get through the agent', () => {
  it.each(REQUESTS)('answers %s with the lines the helper prints without the agent', async (_, input, args = []) => {
    const fast = await helper(input, withAgent, args)
    const slow = await helper(input, withoutAgent(), args)
    expect({ ...fast, full: true }).toEqual(slow)
    expect(fast).toMatchObject({ code: 0, stderr: '', full: false })
  })

  it('loads the small bundle alone, and never the full helper, for a stash the agent holds', async () => {
    const debug = (await runBin('git', ['--stash', stash, 'get'], { input: lines('protocol=https', 'host=example.com'), env: { ...withAgent, NODE_DEBUG: 'module' } })).stderr
    expect(debug).toMatch(/dist\/bundle\/git-credential-get\.cjs/)
    expect(loadedFull(debug)).toBe(false)
  })

  const SAME_WORDS: [string, string, Env, string[]?][] = [
    ['a request line with a carriage return', 'protocol=https\nhost=a\rb\n\n', {}],
    ['a prefix that is not a key path', lines('protocol=https', 'host=example.com'), {}, ['--prefix', 'a\\']],
    ['mapping rules that are not JSON', lines('protocol=https', 'host=example.com'), { XDG_CONFIG_HOME: join(dir, 'bad-config') }],
    ['an unknown option', lines('protocol=https', 'host=example.com'), {}, ['--nope']],
  ]

  it.each(SAME_WORDS)('leaves %s to the helper, which says the same as without the agent', async (_, input, env, args = []) => {
    mkdirSync(join(dir, 'bad-config', 'sstash'), { recursive: true })
    writeFileSync(join(dir, 'bad-config', 'sstash', 'git.json'), '{ not json')
    const fast = await helper(input, { ...withAgent, ...env }, args)
    const slow = await helper(input, { ...withoutAgent(), ...env }, args)
    expect(fast).toEqual(slow)
    expect(fast).toMatchObject({ full: true })
    expect(fast.code).not.toBe(0)
    expect(fast.stderr).toMatch(/^sstash: error: /)
  })

  it('leaves a missing stash, and a stash the agent does not hold, to the helper', async () => {
    const missing = await runBin('git', ['--stash', join(dir, 'missing.sstash'), 'get'], { input: lines('protocol=https', 'host=h'), env: withAgent })
    expect(missing).toMatchObject({ code: 0, stdout: '' })
    expect(missing.stderr).toMatch(/^sstash: hint: no stash at [^\n]+\n$/)
    const other = join(dir, 'other.sstash')
    await makeStash(other, 'other password', { 'git/https/h/-/u/password': 'other-pw' })
    const held = await runBin('git', ['--stash', other, 'get'], { input: lines('protocol=https', 'host=h'), env: { ...withAgent, SSTASH_PASSWORD: 'other password' } })
    expect(held).toMatchObject({ code: 0, stdout: lines('username=u', 'password=other-pw'), stderr: '' })
  })
  it('asks an agent that accepts and never answers once, then opens the stash itself: one wait of 3 s, not three', async () => {
    const quiet = tempDir()
    mkdirSync(join(quiet, 'sstash'), { mode: 0o700 })
    chmodSync(join(quiet, 'sstash'), 0o700)
    const server = createServer(() => {})
    await new Promise<void>((resolve) => server.listen(join(quiet, 'sstash', SOCKET_NAME), resolve))
    try {
      const started = Date.now()
      const result = await helper(lines('protocol=https', 'host=example.com', 'username=bob'), { ...common, XDG_RUNTIME_DIR: quiet, SSTASH_PASSWORD: PASSWORD })
      expect(result).toMatchObject({ code: 0, stderr: '', full: true })
      expect(result.stdout).toContain('password=bob-pw\n')
      expect(Date.now() - started).toBeLessThan(5_500)
    } finally {
      server.close()
    }
  })
})

describe("the agent's credential request, as an attacker would use it", () => {
  const ask = (fields: Record<string, unknown>) =>
    agentRequest(socket, { v: 1, op: 'credential', rules: join(home, 'config', 'sstash', 'git.json'), request: Buffer.from(lines('protocol=https', 'host=example.com', 'username=bob')).toString('base64'), ...fields } as never)

  it('is parsed field by field, and refused with any field of the wrong kind', () => {
    const good = { v: 1, op: 'credential', path: '/s', prefix: 'git', rules: '/c/git.json', request: 'AQ==' }
    const parse = (value: unknown) => parseRequest(JSON.stringify(value), JSON.stringify(value).length)
    expect(parse({ ...good, extra: 1 })).toEqual({ ok: true, request: good })
    for (const bad of [{ path: 'relative' }, { prefix: 7 }, { rules: 'git.json' }, { request: '!!' }, { request: undefined }])
      expect(parse({ ...good, ...bad })).toEqual({ ok: false, error: 'malformed request' })
  })

  it('answers with the one credential asked for, never the rest of the stash', async () => {
    const answer = await ask({ path: stash })
    expect(answer).toMatchObject({ ok: true, found: true })
    const text = Buffer.from(answer!.answer!, 'base64').toString()
    expect(text).toBe(lines('username=bob', 'password=bob-pw', 'password_expiry_utc=4102444800', 'oauth_refresh_token=refresh'))
    expect(JSON.stringify(answer)).not.toMatch(/alice-pw|carol-pw|never-for-git|svc-token/)
  })

  it('holds nothing for a path it was not given, even one that leads to the same file', async () => {
    const link = join(dir, 'link.sstash')
    execFileSync('ln', ['-s', stash, link])
    expect(await ask({ path: link })).toEqual({ ok: true, found: false, held: false })
    expect(await ask({ path: join(dir, 'missing.sstash') })).toEqual({ ok: true, found: false, held: false })
  })

  it('reads mapping rules without ever blocking: a FIFO is no rules file, and other clients are answered', async () => {
    const fifo = join(dir, 'rules.fifo')
    execFileSync('mkfifo', [fifo])
    const started = Date.now()
    expect(await ask({ path: stash, rules: fifo })).toEqual({ ok: true, found: false })
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(await ask({ path: stash })).toMatchObject({ ok: true, found: true })
  })

  it('is not used through an agent directory that other users could reach: the helper warns once and uses the password', async () => {
    const sstashDir = join(runtime, 'sstash')
    chmodSync(sstashDir, 0o755)
    try {
      const result = await helper(lines('protocol=https', 'host=example.com', 'username=bob'), { ...withAgent, SSTASH_PASSWORD: PASSWORD })
      expect(result.stdout).toBe(lines('username=bob', 'password=bob-pw', 'password_expiry_utc=4102444800', 'oauth_refresh_token=refresh'))
      expect(result.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^sstash: warning: not using the agent: refusing the agent directory /)])
    } finally {
      chmodSync(sstashDir, 0o700)
    }
  })
})
