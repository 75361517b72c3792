/**
 * End to end: real git against a real HTTP server on 127.0.0.1 (Node's http module running
 * git-http-backend as CGI) that demands Basic auth, with git-credential-sstash as the only
 * credential helper.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { SecureStash } from '../../src/index.js'
import { BIN, makeStash, runCommand, tempDir, type RunResult } from '../helpers.js'

const BACKEND = '/usr/lib/git-core/git-http-backend'
const STASH_PASSWORD = 'e2e stash password'
const USER = 'alice'

const dir = tempDir()
const home = join(dir, 'home')
const repos = join(dir, 'repos')
const stash = join(dir, 'git.sstash')
const askpassLog = join(dir, 'askpass.log')
const serverPasswordFile = join(dir, 'server-password')

/** The password the server accepts now; a test changes it to make the stored one stale. */
let serverPassword = 'first-password'
let unauthorized = 0
let server: Server
let origin = ''

function cgi(request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: repos,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    HOME: dir,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REQUEST_METHOD: request.method ?? 'GET',
    CONTENT_TYPE: request.headers['content-type'] ?? '',
    REMOTE_USER: USER,
    REMOTE_ADDR: '127.0.0.1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
  }
  for (const [name, value] of Object.entries(request.headers))
    if (typeof value === 'string') env[`HTTP_${name.toUpperCase().replaceAll('-', '_')}`] = value
  const child = spawn(BACKEND, [], { env })
  const out: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
  child.stderr.resume()
  request.pipe(child.stdin)
  child.stdin.on('error', () => {})
  child.on('close', () => {
    const all = Buffer.concat(out)
    let split = all.indexOf('\r\n\r\n')
    let skip = 4
    if (split < 0) {
      split = all.indexOf('\n\n')
      skip = 2
    }
    const head = all.subarray(0, Math.max(split, 0)).toString('latin1')
    let status = 200
    const headers: Record<string, string> = {}
    for (const line of head.split(/\r?\n/)) {
      const colon = line.indexOf(':')
      if (colon < 0) continue
      const name = line.slice(0, colon).trim()
      const value = line.slice(colon + 1).trim()
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10)
      else headers[name] = value
    }
    response.writeHead(status, headers)
    response.end(split < 0 ? all : all.subarray(split + skip))
  })
}

beforeAll(async () => {
  mkdirSync(home, { recursive: true })
  mkdirSync(repos)
  // A bare repository with one commit, pushable over HTTP.
  const seed = join(dir, 'seed')
  const plain = { env: gitEnv(), cwd: dir }
  for (const args of [
    ['init', '-q', '--bare', join(repos, 'repo.git')],
    ['-C', join(repos, 'repo.git'), 'config', 'http.receivepack', 'true'],
    ['init', '-q', '-b', 'main', seed],
  ])
    expect((await runCommand('git', args, plain)).code).toBe(0)
  writeFileSync(join(seed, 'README'), 'hello\n')
  for (const args of [
    ['-C', seed, 'add', 'README'],
    ['-C', seed, 'commit', '-q', '-m', 'first'],
    ['-C', seed, 'push', '-q', join(repos, 'repo.git'), 'main'],
    ['-C', join(repos, 'repo.git'), 'symbolic-ref', 'HEAD', 'refs/heads/main'],
  ])
    expect((await runCommand('git', args, plain)).code).toBe(0)

  // GIT_ASKPASS: logs each prompt, answers the user name and the server's current password.
  writeFileSync(serverPasswordFile, serverPassword)
  writeFileSync(
    join(dir, 'askpass'),
    `#!/bin/sh\necho "$1" >> '${askpassLog}'\ncase "$1" in\n  Username*) echo ${USER} ;;\n  *) cat '${serverPasswordFile}' ;;\nesac\n`,
  )
  chmodSync(join(dir, 'askpass'), 0o755)
  writeFileSync(join(dir, 'password'), STASH_PASSWORD, { mode: 0o600 })
  await makeStash(stash, STASH_PASSWORD)

  server = createServer((request, response) => {
    const expected = `Basic ${Buffer.from(`${USER}:${serverPassword}`).toString('base64')}`
    if (request.headers.authorization !== expected) {
      unauthorized++
      request.resume()
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="sstash e2e"' })
      response.end()
      return
    }
    cgi(request, response)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()))
})

function gitEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: undefined,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: join(dir, 'askpass'),
    SSH_ASKPASS: undefined,
    SSTASH_PASSWORD_FILE: join(dir, 'password'),
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    http_proxy: undefined,
    https_proxy: undefined,
    HTTP_PROXY: undefined,
    HTTPS_PROXY: undefined,
    ALL_PROXY: undefined,
    ...extra,
  }
}

/** Runs git with git-credential-sstash as its only helper. */
function git(args: string[], cwd = dir, extra: Record<string, string | undefined> = {}): Promise<RunResult> {
  const helper = `!"${process.execPath}" "${BIN.git}" --stash "${stash}"`
  return runCommand('git', ['-c', 'credential.helper=', '-c', `credential.helper=${helper}`, ...args], {
    cwd,
    env: gitEnv(extra),
    timeoutMs: 60_000,
  })
}

const askpassCalls = (): string[] => (existsSync(askpassLog) ? readFileSync(askpassLog, 'utf8').split('\n').filter(Boolean).map((line) => line.trimEnd()) : [])

async function stored(): Promise<Record<string, string>> {
  const opened = await SecureStash.open(stash, STASH_PASSWORD, { create: false })
  return Object.fromEntries((await opened.list()).map((e) => [e.key.join('/'), Buffer.from(e.value).toString()]))
}

describe('git over HTTP with Basic auth', () => {
  const hostKey = (): string => `git/http/${origin.slice('http://'.length)}/-/${USER}/password`

  it('stores the password askpass supplied once, on the first clone', async () => {
    const result = await git(['clone', '-q', `${origin}/repo.git`, join(dir, 'clone1')])
    expect(result.code, result.stderr).toBe(0)
    expect(readFileSync(join(dir, 'clone1', 'README'), 'utf8')).toBe('hello\n')
    expect(askpassCalls()).toEqual([`Username for '${origin}':`, `Password for 'http://${USER}@${origin.slice('http://'.length)}':`])
    expect(await stored()).toEqual({ [hostKey()]: 'first-password' })
    expect(unauthorized).toBeGreaterThan(0)
  })

  it('clones again and pushes with no askpass at all', async () => {
    const noAskpass = { GIT_ASKPASS: '/bin/false' }
    const before = askpassCalls().length
    const clone = await git(['clone', '-q', `${origin}/repo.git`, join(dir, 'clone2')], dir, noAskpass)
    expect(clone.code, clone.stderr).toBe(0)
    const work = join(dir, 'clone2')
    writeFileSync(join(work, 'CHANGE'), 'pushed over http\n')
    expect((await git(['add', 'CHANGE'], work)).code).toBe(0)
    expect((await git(['commit', '-q', '-m', 'second'], work)).code).toBe(0)
    const push = await git(['push', '-q', 'origin', 'main'], work, noAskpass)
    expect(push.code, push.stderr).toBe(0)
    expect(askpassCalls().length).toBe(before)
    const log = await runCommand('git', ['--git-dir', join(repos, 'repo.git'), 'log', '--format=%s', 'main'], { env: gitEnv() })
    expect(log.stdout).toBe('second\nfirst\n')
  })

  it('erases the stale entry when the server password changes, and stores the new one', async () => {
    serverPassword = 'second-password'
    writeFileSync(serverPasswordFile, serverPassword)
    const failed = await git(['ls-remote', `${origin}/repo.git`], dir, { GIT_ASKPASS: '/bin/false' })
    expect(failed.code).not.toBe(0)
    expect(await stored()).toEqual({})
    const again = await git(['ls-remote', `${origin}/repo.git`])
    expect(again.code, again.stderr).toBe(0)
    expect(await stored()).toEqual({ [hostKey()]: 'second-password' })
  })
})
