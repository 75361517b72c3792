/**
 * git-credential-sstash driven by real git (`git credential fill|approve|reject` with
 * `-c credential.helper=...`), mirroring git's own external-helper battery (t/lib-credential.sh).
 *
 * Attributes newer than the git on the test machine (password_expiry_utc, oauth_refresh_token,
 * wwwauth[], capability[], authtype, credential, ephemeral, state[]) are sent to the helper
 * directly, byte for byte as newer git sends them: an older git would drop them before the
 * helper saw them.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SecureStash } from '../../src/index.js'
import { BIN, ROOT, agentRuntimeDir, makeStash, runBin, runCommand, tempDir, type RunResult } from '../helpers.js'

const PASSWORD = 'stash password'
const dir = tempDir()
const home = join(dir, 'home')
const shims = join(dir, 'shims')
const stash = join(dir, 'creds.sstash')
const passwordFile = join(dir, 'password')
const askpass = join(dir, 'askpass')

const baseEnv: Record<string, string | undefined> = {
  HOME: home,
  XDG_CONFIG_HOME: join(home, '.config'),
  XDG_DATA_HOME: join(home, '.local', 'share'),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: undefined,
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: askpass,
  SSH_ASKPASS: undefined,
  SSTASH_PASSWORD_FILE: passwordFile,
  XDG_RUNTIME_DIR: agentRuntimeDir(),
  PATH: `${shims}:${process.env.PATH ?? ''}`,
  LC_ALL: 'C',
}

/** The helper as users configure it: `sstash [options]`, found as git-credential-sstash on PATH. */
const HELPER = `sstash --stash ${stash}`

beforeAll(async () => {
  mkdirSync(home, { recursive: true })
  mkdirSync(shims)
  writeFileSync(join(shims, 'git-credential-sstash'), `#!/bin/sh\nexec "${process.execPath}" "${BIN.git}" "$@"\n`)
  chmodSync(join(shims, 'git-credential-sstash'), 0o755)
  // The askpass of git's t/lib-credential.sh: logs the prompt, answers askpass-<what>.
  writeFileSync(askpass, '#!/bin/sh\necho >&2 askpass: $*\nwhat=$(echo $1 | cut -d" " -f1 | tr A-Z a-z | tr -cd a-z)\necho "askpass-$what"\n')
  chmodSync(askpass, 0o755)
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
  await makeStash(stash, PASSWORD)
})

const lines = (...items: string[]): string => items.map((line) => `${line}\n`).join('')

function git(args: string[], input: string, env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return runCommand('git', args, { input, cwd: home, env: { ...baseEnv, ...env } })
}

/** git's `check`: runs `git credential <action>` and compares stdout and stderr exactly. */
async function check(action: string, input: string, stdout: string, stderr = '', options: { config?: string[]; helper?: string } = {}) {
  const config = (options.config ?? []).flatMap((c) => ['-c', c])
  const result = await git([...config, '-c', `credential.helper=${options.helper ?? HELPER}`, 'credential', action], input)
  expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 0, stdout, stderr })
}

const asked = (url: string, user = 'askpass-username'): string =>
  lines(`askpass: Username for '${url}':`, `askpass: Password for '${url.replace('://', `://${user}@`)}':`)

/** Runs the helper directly, as newer git does, with the stash password from the file. */
function helper(action: string, input: string, env: Record<string, string | undefined> = {}, args: string[] = []): Promise<RunResult> {
  return runBin('git', ['--stash', stash, ...args, action], { input, cwd: home, env: { ...baseEnv, ...env } })
}

async function values(path = stash): Promise<Record<string, string>> {
  const opened = await SecureStash.open(path, PASSWORD, { create: false })
  return Object.fromEntries((await opened.list()).map((e) => [e.key.join('/'), Buffer.from(e.value).toString()]))
}

describe("git's external-helper battery through git credential", () => {
  it('has no existing data', async () => {
    await check(
      'fill',
      lines('protocol=https', 'host=example.com'),
      lines('protocol=https', 'host=example.com', 'username=askpass-username', 'password=askpass-password'),
      asked('https://example.com'),
    )
  })

  it('stores a password', async () => {
    await check('approve', lines('protocol=https', 'host=example.com', 'username=store-user', 'password=store-pass'), '')
    expect(await values()).toEqual({ 'git/https/example.com/-/store-user/password': 'store-pass' })
  })

  it('retrieves the password', async () => {
    await check(
      'fill',
      lines('protocol=https', 'host=example.com'),
      lines('protocol=https', 'host=example.com', 'username=store-user', 'password=store-pass'),
    )
  })

  it.each(['http://example.com', 'https://other.tld', 'https://example.com.evil.com', 'https://evilexample.com', 'https://example.com:8443', 'https://xample.com'])(
    'returns nothing for the near miss %s',
    async (url) => {
      const [protocol, host] = url.split('://') as [string, string]
      await check(
        'fill',
        lines(`protocol=${protocol}`, `host=${host}`),
        lines(`protocol=${protocol}`, `host=${host}`, 'username=askpass-username', 'password=askpass-password'),
        asked(url),
      )
    },
  )

  it('requires a matching username', async () => {
    await check(
      'fill',
      lines('protocol=https', 'host=example.com', 'username=other'),
      lines('protocol=https', 'host=example.com', 'username=other', 'password=askpass-password'),
      lines("askpass: Password for 'https://other@example.com':"),
    )
  })

  it('requires a matching path with credential.useHttpPath', async () => {
    const config = ['credential.useHttpPath=true']
    await check('approve', lines('protocol=http', 'host=path.tld', 'path=foo.git', 'username=user', 'password=pass'), '', '', { config })
    await check(
      'fill',
      lines('protocol=http', 'host=path.tld', 'path=bar.git'),
      lines('protocol=http', 'host=path.tld', 'path=bar.git', 'username=askpass-username', 'password=askpass-password'),
      asked('http://path.tld/bar.git'),
      { config },
    )
    await check(
      'fill',
      lines('protocol=http', 'host=path.tld', 'path=foo.git'),
      lines('protocol=http', 'host=path.tld', 'path=foo.git', 'username=user', 'password=pass'),
      '',
      { config },
    )
    expect(await values()).toMatchObject({ 'git/http/path.tld/foo.git/user/password': 'pass' })
  })

  it('overwrites on store', async () => {
    await check('approve', lines('protocol=https', 'host=example.com', 'username=user-overwrite', 'password=pass1'), '')
    await check('approve', lines('protocol=https', 'host=example.com', 'username=user-overwrite', 'password=pass2'), '')
    await check(
      'fill',
      lines('protocol=https', 'host=example.com', 'username=user-overwrite'),
      lines('protocol=https', 'host=example.com', 'username=user-overwrite', 'password=pass2'),
    )
    await check('reject', lines('protocol=https', 'host=example.com', 'username=user-overwrite', 'password=pass2'), '')
    await check(
      'fill',
      lines('protocol=https', 'host=example.com', 'username=user-overwrite'),
      lines('protocol=https', 'host=example.com', 'username=user-overwrite', 'password=askpass-password'),
      lines("askpass: Password for 'https://user-overwrite@example.com':"),
    )
  })

  it('forgets a host', async () => {
    await check('reject', lines('protocol=https', 'host=example.com'), '')
    await check(
      'fill',
      lines('protocol=https', 'host=example.com'),
      lines('protocol=https', 'host=example.com', 'username=askpass-username', 'password=askpass-password'),
      asked('https://example.com'),
    )
  })

  it('stores several users for one host', async () => {
    await check('approve', lines('protocol=https', 'host=example.com', 'username=user1', 'password=pass1'), '')
    await check('approve', lines('protocol=https', 'host=example.com', 'username=user2', 'password=pass2'), '')
    for (const n of ['1', '2'])
      await check(
        'fill',
        lines('protocol=https', 'host=example.com', `username=user${n}`),
        lines('protocol=https', 'host=example.com', `username=user${n}`, `password=pass${n}`),
      )
  })

  it('does not erase a password distinct from the input', async () => {
    await check('approve', lines('protocol=https', 'host=example.com', 'username=user-distinct-pass', 'password=pass1'), '')
    await check('reject', lines('protocol=https', 'host=example.com', 'username=user-distinct-pass', 'password=pass2'), '')
    await check(
      'fill',
      lines('protocol=https', 'host=example.com', 'username=user-distinct-pass'),
      lines('protocol=https', 'host=example.com', 'username=user-distinct-pass', 'password=pass1'),
    )
  })

  it('forgets one user and remembers the other', async () => {
    await check('reject', lines('protocol=https', 'host=example.com', 'username=user1'), '')
    await check(
      'fill',
      lines('protocol=https', 'host=example.com', 'username=user1'),
      lines('protocol=https', 'host=example.com', 'username=user1', 'password=askpass-password'),
      lines("askpass: Password for 'https://user1@example.com':"),
    )
    await check(
      'fill',
      lines('protocol=https', 'host=example.com', 'username=user2'),
      lines('protocol=https', 'host=example.com', 'username=user2', 'password=pass2'),
    )
  })

  it('stores an empty username', async () => {
    await check('approve', lines('protocol=https', 'host=sso.tld', 'username=', 'password='), '')
    await check('fill', lines('protocol=https', 'host=sso.tld'), lines('protocol=https', 'host=sso.tld', 'username=', 'password='))
    expect(await values()).toMatchObject({ 'git/https/sso.tld/-//password': '' })
  })

  it('erases all matching credentials', async () => {
    await check('approve', lines('protocol=https', 'host=example.com', 'username=user-erase1', 'password=pass1'), '')
    await check('approve', lines('protocol=https', 'host=example.com', 'username=user-erase2', 'password=pass1'), '')
    await check('reject', lines('protocol=https', 'host=example.com'), '')
    await check(
      'fill',
      lines('protocol=https', 'host=example.com'),
      lines('protocol=https', 'host=example.com', 'username=askpass-username', 'password=askpass-password'),
      asked('https://example.com'),
    )
    expect(Object.keys(await values()).filter((k) => k.startsWith('git/https/example.com/'))).toEqual([])
  })

  it('reads the stash named by SSTASH_FILE when the helper is plain `sstash`', async () => {
    const result = await git(['-c', 'credential.helper=sstash', 'credential', 'fill'], lines('protocol=https', 'host=sso.tld'), { SSTASH_FILE: stash })
    expect(result.stdout).toBe(lines('protocol=https', 'host=sso.tld', 'username=', 'password='))
  })

  it('works configured by path, as the README suggests for speed', async () => {
    const byPath = `${BIN.git} --stash ${stash}`
    const result = await git(['-c', `credential.helper=${byPath}`, 'credential', 'fill'], lines('protocol=https', 'host=sso.tld'))
    expect(result.stdout).toBe(lines('protocol=https', 'host=sso.tld', 'username=', 'password='))
  })
})

describe('attributes of newer git, sent to the helper directly', () => {
  it('stores and returns password_expiry_utc, and a changed expiry overwrites', async () => {
    expect((await helper('store', lines('protocol=https', 'host=example.com', 'username=user-expiry', 'password=pass', 'password_expiry_utc=9999999999'))).code).toBe(0)
    expect((await helper('get', lines('protocol=https', 'host=example.com', 'username=user-expiry'))).stdout).toBe(
      lines('username=user-expiry', 'password=pass', 'password_expiry_utc=9999999999'),
    )
    const who = 'username=user-expiry-overwrite'
    await helper('store', lines('protocol=https', 'host=example.com', who, 'password=pass1', 'password_expiry_utc=9999999998'))
    await helper('store', lines('protocol=https', 'host=example.com', who, 'password=pass2', 'password_expiry_utc=9999999999'))
    expect((await helper('get', lines('protocol=https', 'host=example.com', who))).stdout).toBe(lines(who, 'password=pass2', 'password_expiry_utc=9999999999'))
    await helper('erase', lines('protocol=https', 'host=example.com', who, 'password=pass2'))
    expect((await helper('get', lines('protocol=https', 'host=example.com', who))).stdout).toBe('')
  })

  it('does not return an expired password', async () => {
    await helper('store', lines('protocol=https', 'host=expired.tld', 'username=u', 'password=old', 'password_expiry_utc=1000'))
    const result = await helper('get', lines('protocol=https', 'host=expired.tld'))
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: '' })
  })

  it('stores and returns oauth_refresh_token', async () => {
    await helper('store', lines('protocol=https', 'host=example.com', 'username=user4', 'password=pass', 'oauth_refresh_token=xyzzy'))
    expect((await helper('get', lines('protocol=https', 'host=example.com', 'username=user4'))).stdout).toBe(
      lines('username=user4', 'password=pass', 'oauth_refresh_token=xyzzy'),
    )
  })

  it('stores authtype and credential, and returns them only with the capability', async () => {
    await helper('store', lines('capability[]=authtype', 'authtype=Bearer', 'credential=random-token', 'protocol=https', 'host=git.example.com'))
    await helper('store', lines('capability[]=authtype', 'authtype=Bearer', 'credential=other-token', 'protocol=https', 'host=git.example.com', 'username=foobar'))
    expect((await helper('get', lines('capability[]=authtype', 'protocol=https', 'host=git.example.com'))).stdout).toBe(
      lines('capability[]=authtype', 'authtype=Bearer', 'credential=random-token'),
    )
    expect((await helper('get', lines('capability[]=authtype', 'protocol=https', 'host=git.example.com', 'username=foobar'))).stdout).toBe(
      lines('capability[]=authtype', 'authtype=Bearer', 'credential=other-token', 'username=foobar'),
    )
    expect((await helper('get', lines('capability[]=authtype', 'protocol=https', 'host=git.example.com', 'username=barbaz'))).stdout).toBe('')
    expect((await helper('get', lines('protocol=https', 'host=git.example.com'))).stdout).toBe('')
    expect(await values()).toMatchObject({
      'git/https/git.example.com/-/-/authtype': 'Bearer',
      'git/https/git.example.com/-/-/credential': 'random-token',
      'git/https/git.example.com/-/foobar/credential': 'other-token',
    })
  })

  it('never stores an ephemeral credential', async () => {
    await helper('store', lines('capability[]=authtype', 'authtype=Bearer', 'credential=git2-token', 'protocol=https', 'host=git2.example.com', 'ephemeral=1'))
    await helper('store', lines('capability[]=authtype', 'protocol=https', 'host=git2.example.com', 'username=barbaz', 'password=secret', 'ephemeral=1'))
    expect((await helper('get', lines('capability[]=authtype', 'protocol=https', 'host=git2.example.com'))).stdout).toBe('')
    expect(Object.keys(await values()).some((k) => k.includes('git2.example.com'))).toBe(false)
  })

  it('hands back state[] with its own prefix, and a served credential costs no unlock on store', async () => {
    const get = await helper('get', lines('capability[]=state', 'state[]=other:thing', 'protocol=https', 'host=example.com', 'username=user4'))
    expect(get.stdout).toBe(lines('capability[]=state', 'username=user4', 'password=pass', 'oauth_refresh_token=xyzzy', 'state[]=sstash:served'))
    const before = readFileSync(stash)
    const store = await helper(
      'store',
      lines('capability[]=state', 'protocol=https', 'host=example.com', 'username=user4', 'password=pass', 'state[]=sstash:served'),
      { SSTASH_PASSWORD_FILE: undefined },
    )
    expect({ code: store.code, stdout: store.stdout, stderr: store.stderr }).toEqual({ code: 0, stdout: '', stderr: '' })
    expect(readFileSync(stash).equals(before)).toBe(true)
    const foreign = await helper(
      'store',
      lines('capability[]=state', 'protocol=https', 'host=example.com', 'username=user4', 'password=pass', 'state[]=other:served'),
      { SSTASH_PASSWORD_FILE: undefined },
    )
    expect(foreign.stderr).toMatch(/^sstash: hint: no password/)
  })

  it('answers the capability action', async () => {
    const result = await runBin('git', ['capability'])
    expect(result).toMatchObject({ code: 0, stdout: 'version 0\ncapability authtype\ncapability state\n', stderr: '' })
  })

  it('ignores an action it does not know, as git asks', async () => {
    expect(await runBin('git', ['frobnicate'], { input: 'host=x\n' })).toMatchObject({ code: 0, stdout: '', stderr: '' })
  })
})

describe('injection and hostile input', () => {
  const victim = lines('protocol=https', 'host=victim.example.com', 'username=user', 'password=to-be-stolen')

  beforeAll(async () => {
    expect((await helper('store', victim)).code).toBe(0)
  })

  /** Runs the helper on hostile input and checks: one error line, nothing printed, stash unchanged. */
  async function refused(action: string, input: string | Uint8Array) {
    const before = readFileSync(stash)
    const result = await runBin('git', ['--stash', stash, action], { input, env: baseEnv })
    expect(result.stdout).toBe('')
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^sstash: error: [^\n]+\n$/)
    expect(result.stderr).not.toContain('victim')
    expect(readFileSync(stash).equals(before)).toBe(true)
  }

  it.each(['get', 'store', 'erase'])('refuses a lone CR on %s', async (action) => {
    await refused(action, 'protocol=https\nhost=badguy.example.com\rhost=victim.example.com\nusername=user\npassword=x\n')
  })

  it.each(['get', 'store', 'erase'])('refuses a NUL on %s', async (action) => {
    await refused(action, 'protocol=https\nhost=victim.example.com\0.evil\nusername=user\npassword=x\n')
  })

  it.each(['get', 'store', 'erase'])('refuses a 70 KB line on %s', async (action) => {
    await refused(action, `protocol=https\nhost=badguy.example.com\nwwwauth[]=basic realm=${'a'.repeat(70_000)}\nhost=victim.example.com\n`)
  })

  it('reads CRLF line endings as git does', async () => {
    const result = await helper('get', 'protocol=https\r\nhost=victim.example.com\r\n\r\n')
    expect(result.stdout).toBe(lines('username=user', 'password=to-be-stolen'))
  })

  it('takes U+2028 as part of the host, not a line break', async () => {
    const result = await helper('get', lines('protocol=https', 'host=badguy.example.com\u2028host=victim.example.com'))
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: '' })
  })

  it('is not confused by a long wwwauth[] line holding host=victim', async () => {
    const long = `wwwauth[]=basic realm=${'a'.repeat(1001)}host=victim.example.com`
    const result = await helper('get', lines('protocol=https', 'host=badguy.example.com', long))
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 0, stdout: '', stderr: '' })
  })

  it('returns nothing and stores nothing without a host or a protocol', async () => {
    const before = readFileSync(stash)
    for (const input of [lines('protocol=https', 'username=user'), lines('host=victim.example.com', 'username=user'), lines('protocol=https')]) {
      expect(await helper('get', input)).toMatchObject({ code: 0, stdout: '', stderr: '' })
      expect(await helper('store', `${input}password=x\n`)).toMatchObject({ code: 0, stdout: '', stderr: '' })
      expect(await helper('erase', input)).toMatchObject({ code: 0, stdout: '', stderr: '' })
    }
    expect(readFileSync(stash).equals(before)).toBe(true)
  })

  it('keeps an empty host apart from every other host', async () => {
    expect((await helper('get', lines('url=https:///'))).stdout).toBe('')
    expect((await helper('get', lines('protocol=https', 'host='))).stdout).toBe('')
  })

  it('stops reading at the blank line even when stdin stays open', async () => {
    const { spawn } = await import('node:child_process')
    const child = spawn(process.execPath, [BIN.git, '--stash', stash, 'get'], {
      env: Object.fromEntries(Object.entries({ ...process.env, ...baseEnv }).filter(([, v]) => v !== undefined)) as Record<string, string>,
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stdin.write('protocol=https\nhost=victim.example.com\n\n')
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      child.on('close', (c) => {
        clearTimeout(timer)
        resolve(c)
      })
    })
    child.stdin.destroy()
    expect(code).toBe(0)
    expect(out).toBe(lines('username=user', 'password=to-be-stolen'))
  })
})

describe('unlocking and options', () => {
  it('exits 0 with one hint line and no output when no password is available', async () => {
    for (const action of ['get', 'store', 'erase']) {
      const result = await helper(action, lines('protocol=https', 'host=victim.example.com', 'username=u', 'password=p'), { SSTASH_PASSWORD_FILE: undefined })
      expect(result).toMatchObject({ code: 0, stdout: '' })
      expect(result.stderr).toMatch(/^sstash: hint: no password for [^\n]+\n$/)
    }
  })

  it('lets git fall back to its own prompt when the helper has no password', async () => {
    const result = await git(['-c', `credential.helper=${HELPER}`, 'credential', 'fill'], lines('protocol=https', 'host=victim.example.com'), {
      SSTASH_PASSWORD_FILE: undefined,
    })
    expect(result.stdout).toBe(lines('protocol=https', 'host=victim.example.com', 'username=askpass-username', 'password=askpass-password'))
    expect(result.stderr.split('\n').filter((l) => l.startsWith('sstash:'))).toHaveLength(1)
  })

  const hasScript = existsSync('/usr/bin/script')

  it.skipIf(!hasScript)('prompts for the stash password on the terminal, never on stdin', async () => {
    await helper('store', lines('protocol=https', 'host=tty.example.com', 'username=user', 'password=typed-unlock'))
    const request = join(dir, 'tty-request')
    writeFileSync(request, lines('protocol=https', 'host=tty.example.com'))
    const command = `"${process.execPath}" "${BIN.git}" --stash "${stash}" get < "${request}"`
    const result = await runCommand('sh', ['-c', '(sleep 1; printf "%s\\r" "$PW") | script -qec "$CMD" /dev/null'], {
      // A typed password would unlock the agent for the tests that follow, which need it locked.
      env: { ...baseEnv, SSTASH_PASSWORD_FILE: undefined, GIT_TERMINAL_PROMPT: undefined, SSTASH_AGENT_TIMEOUT: '0', PW: PASSWORD, CMD: command },
    })
    expect(result.stdout).toContain(`sstash: password for the stash ${stash}: `)
    expect(result.stdout).toContain('username=user\r\npassword=typed-unlock\r\n')
  })

  it.skipIf(!hasScript)('does not prompt on the terminal when GIT_TERMINAL_PROMPT=0', async () => {
    const request = join(dir, 'request')
    writeFileSync(request, lines('protocol=https', 'host=victim.example.com'))
    const command = `"${process.execPath}" "${BIN.git}" --stash "${stash}" get < "${request}"`
    const result = await runCommand('script', ['-qec', command, '/dev/null'], {
      env: { ...baseEnv, SSTASH_PASSWORD_FILE: undefined, GIT_TERMINAL_PROMPT: '0' },
      timeoutMs: 15_000,
    })
    expect(result.signal).toBeNull()
    expect(result.stdout).not.toContain('sstash: password for')
    expect(result.stdout).toMatch(/^sstash: hint: no password for [^\n]+\n$/)
  })

  it('takes the password from SSTASH_PASSWORD too', async () => {
    const result = await helper('get', lines('protocol=https', 'host=victim.example.com'), { SSTASH_PASSWORD_FILE: undefined, SSTASH_PASSWORD: PASSWORD })
    expect(result.stdout).toBe(lines('username=user', 'password=to-be-stolen'))
  })

  it('reports a wrong password in one error line and prints nothing', async () => {
    const wrong = join(dir, 'wrong')
    writeFileSync(wrong, 'nope\n', { mode: 0o600 })
    const result = await helper('get', lines('protocol=https', 'host=victim.example.com'), { SSTASH_PASSWORD_FILE: wrong })
    expect(result.stdout).toBe('')
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/^sstash: error: [^\n]+\n$/)
  })

  it('hints at `sstash init` for a missing stash and never creates one', async () => {
    const missing = join(dir, 'missing.sstash')
    for (const action of ['get', 'store']) {
      const result = await runBin('git', ['--stash', missing, action], {
        input: lines('protocol=https', 'host=h', 'username=u', 'password=p'),
        env: baseEnv,
      })
      expect(result).toMatchObject({ code: 0, stdout: '' })
      expect(result.stderr).toMatch(/^sstash: hint: no stash at [^\n]+`sstash init`[^\n]*\n$/)
    }
    const noPassword = await runBin('git', ['--stash', missing, 'get'], {
      input: lines('protocol=https', 'host=h'),
      env: { ...baseEnv, SSTASH_PASSWORD_FILE: undefined },
    })
    expect(noPassword.stderr).toMatch(/^sstash: hint: no stash at [^\n]+\n$/)
    expect(existsSync(missing)).toBe(false)
  })

  it('stores under another prefix with --prefix', async () => {
    await helper('store', lines('protocol=https', 'host=prefixed.tld', 'username=u', 'password=p'), {}, ['--prefix', 'work/git'])
    expect(await values()).toMatchObject({ 'work/git/https/prefixed.tld/-/u/password': 'p' })
    expect((await helper('get', lines('protocol=https', 'host=prefixed.tld'))).stdout).toBe('')
    expect((await helper('get', lines('protocol=https', 'host=prefixed.tld'), {}, ['--prefix=work/git'])).stdout).toBe(lines('username=u', 'password=p'))
  })

  it('takes --prefix and --stash exactly as typed, number-like or not', async () => {
    await helper('store', lines('protocol=https', 'host=numbers.tld', 'username=u', 'password=p'), {}, ['--prefix', '007'])
    expect(await values()).toMatchObject({ '007/https/numbers.tld/-/u/password': 'p' })
    const copy = join(home, '0x10')
    copyFileSync(stash, copy)
    const served = await runBin('git', ['--stash', '0x10', '--prefix=007', 'get'], { input: lines('protocol=https', 'host=numbers.tld'), cwd: home, env: baseEnv })
    expect(served.stdout).toBe(lines('username=u', 'password=p'))
  })

  it('refuses a --prefix that is not UTF-8, whose bad bytes Node would have replaced', async () => {
    const result = await runCommand('sh', ['-c', '"$NODE" "$HELPER" --prefix "$(printf "w\\377")" get </dev/null'], { env: { ...baseEnv, NODE: process.execPath, HELPER: BIN.git } })
    expect(result.code).toBe(2)
    expect(result.stderr.split('\n')[0]).toBe('sstash: error: argument 2 ("w\ufffd") is not valid UTF-8')
  })

  it.each([
    [['--stash'], /^sstash: error: option --stash needs a value$/],
    [['--stash=', 'get'], /^sstash: error: option --stash needs a value$/],
    [['--stash', '--', 'get'], /^sstash: error: option --stash needs a value$/],
    [['--help=yes'], /^sstash: error: option --help takes no value$/],
    [['--bogus', 'get'], /unknown option --bogus/],
    [[], /no action given/],
    [['get', 'store'], /unexpected argument store/],
  ])('refuses the arguments %j with a usage error', async (args, message) => {
    const result = await runBin('git', args, { env: baseEnv })
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr.split('\n')[0]).toMatch(message)
  })
})

describe('mapping rules', () => {
  const rulesStash = join(dir, 'rules.sstash')
  const configHome = join(dir, 'rules-config')
  const env = { XDG_CONFIG_HOME: configHome }
  const ruleHelper = `sstash --stash ${rulesStash}`

  beforeAll(async () => {
    await makeStash(rulesStash, PASSWORD, { 'project/SomeService/user': 'svc-bot', 'project/SomeService/token': 'tok-123' })
    mkdirSync(join(configHome, 'sstash'), { recursive: true })
    writeFileSync(
      join(configHome, 'sstash', 'git.json'),
      JSON.stringify({ rules: [{ url: 'https://*.example.com', key: 'project/SomeService', username: 'user', password: 'token' }] }),
    )
  })

  it('serves a matching host from the existing subtree, and approve makes no second copy', async () => {
    const fill = await git(['-c', `credential.helper=${ruleHelper}`, 'credential', 'fill'], lines('protocol=https', 'host=git.example.com'), env)
    expect(fill.stdout).toBe(lines('protocol=https', 'host=git.example.com', 'username=svc-bot', 'password=tok-123'))
    const approve = await git(['-c', `credential.helper=${ruleHelper}`, 'credential', 'approve'], fill.stdout, env)
    expect(approve.code).toBe(0)
    expect(Object.keys(await values(rulesStash)).sort()).toEqual(['project/SomeService/token', 'project/SomeService/user'])
  })

  it('serves nothing to a host the pattern does not match', async () => {
    for (const host of ['example.com', 'a.b.example.com', 'git.example.com.evil.com', 'git.example.com:8443']) {
      const result = await git(['-c', `credential.helper=${ruleHelper}`, 'credential', 'fill'], lines('protocol=https', `host=${host}`), env)
      expect(result.stdout).toContain('password=askpass-password')
    }
  })

  it('refuses to print a served value that holds a newline, in one error line', async () => {
    const opened = await SecureStash.open(rulesStash, PASSWORD, { create: false })
    await opened.writeValue(['project', 'SomeService', 'token'], new TextEncoder().encode('tok\nhost=victim\n'))
    const result = await runBin('git', ['--stash', rulesStash, 'get'], { input: lines('protocol=https', 'host=git.example.com'), env: { ...baseEnv, ...env } })
    expect(result).toMatchObject({ code: 1, stdout: '' })
    expect(result.stderr).toMatch(/^sstash: error: [^\n]*control character\n$/)
    expect(result.stderr).not.toContain('victim')
  })

  it('reports a broken rules file in one error line', async () => {
    const brokenHome = join(dir, 'broken-config')
    mkdirSync(join(brokenHome, 'sstash'), { recursive: true })
    writeFileSync(join(brokenHome, 'sstash', 'git.json'), '{ "rules": [ { "url": "https://h" } ] }')
    const result = await helper('get', lines('protocol=https', 'host=h'), { XDG_CONFIG_HOME: brokenHome })
    expect(result).toMatchObject({ code: 1, stdout: '' })
    expect(result.stderr).toMatch(/^sstash: error: [^\n]*git\.json: rule 1: "key"[^\n]*\n$/)
  })
})

describe('examples/git-config/gitconfig', () => {
  it('works as a global git config: sstash by default, ~/work.sstash for the work host', async () => {
    const exampleHome = join(dir, 'example-home')
    mkdirSync(exampleHome)
    const config = join(exampleHome, '.gitconfig')
    copyFileSync(join(ROOT, 'examples/git-config/gitconfig'), config)
    const defaultStash = join(exampleHome, '.local/share/sstash/stash.sstash')
    mkdirSync(join(exampleHome, '.local/share/sstash'), { recursive: true })
    await makeStash(defaultStash, PASSWORD)
    await makeStash(join(exampleHome, 'work.sstash'), PASSWORD)
    const env = { HOME: exampleHome, XDG_DATA_HOME: undefined, XDG_CONFIG_HOME: undefined, GIT_CONFIG_GLOBAL: config }
    for (const host of ['github.com', 'git.work.example']) {
      const approve = await git(['credential', 'approve'], lines('protocol=https', `host=${host}`, 'username=me', `password=pw-${host}`), env)
      expect(approve).toMatchObject({ code: 0, stdout: '', stderr: '' })
    }
    expect(await values(defaultStash)).toEqual({ 'git/https/github.com/-/me/password': 'pw-github.com' })
    expect(await values(join(exampleHome, 'work.sstash'))).toEqual({ 'git/https/git.work.example/-/me/password': 'pw-git.work.example' })
    const fill = await git(['credential', 'fill'], lines('protocol=https', 'host=git.work.example'), env)
    expect(fill.stdout).toBe(lines('protocol=https', 'host=git.work.example', 'username=me', 'password=pw-git.work.example'))
  })
})
