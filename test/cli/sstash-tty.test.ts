/**
 * The prompts of `sstash`, on a real pseudo-terminal driven by ../fixtures/cli/pty-drive.py:
 * what a person sees and types, and that nothing typed is echoed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SecureStash } from '../../src/index.js'
import { BIN, ROOT, TEST_KDF_SPEC, agentRuntimeDir, makeStash, runBin, runCommand, tempDir } from '../helpers.js'

const DRIVER = join(ROOT, 'test/fixtures/cli/pty-drive.py')
const dir = tempDir()
const runtime = agentRuntimeDir()
let counter = 0

type Step = [expect: string, send: string | { hex: string }]

/** Runs `command` on a fresh terminal, typing `send` each time `expect` shows up. */
function onTerminalRun(steps: Step[], command: string[], env: Record<string, string | undefined> = {}) {
  return runCommand('python3', [DRIVER, JSON.stringify(steps), ...command], { timeoutMs: 30_000, env: { XDG_RUNTIME_DIR: runtime, ...env } })
}

/** Runs sstash on a fresh terminal. */
function onTerminal(steps: Step[], args: string[], env: Record<string, string | undefined> = {}) {
  return onTerminalRun(steps, [process.execPath, BIN.sstash, ...args], env)
}

/** Runs a shell script on a fresh terminal, with $NODE, $SSTASH and $HELPER naming the binaries. */
function scriptOnTerminal(steps: Step[], script: string, env: Record<string, string | undefined> = {}) {
  return onTerminalRun(steps, ['sh', '-c', script], { NODE: process.execPath, SSTASH: BIN.sstash, HELPER: BIN.git, ...env })
}

/** What the agent of `env` holds for `path`: how long it was unlocked for, in ms, or undefined. */
async function heldFor(path: string, env: Record<string, string> = { XDG_RUNTIME_DIR: runtime }): Promise<number | undefined> {
  const status = JSON.parse((await runBin('sstash', ['agent', 'status', '--json'], { env })).stdout) as { entries: { path: string; unlockedAt: string; expiresAt: string }[] }
  const entry = status.entries.find((e) => e.path === path)
  return entry && Date.parse(entry.expiresAt) - Date.parse(entry.unlockedAt)
}

const count = (text: string, part: string): number => text.split(part).length - 1
const fresh = (): string => join(dir, `s${++counter}.sstash`)
const PASSWORD = 'correct horse battery'

describe('sstash on a terminal', () => {
  it('asks for the new password twice on init, echoing nothing', async () => {
    const path = join(dir, 'init.sstash')
    const r = await onTerminal(
      [
        ['sstash: new password for the stash', 'pw-typed-1\r'],
        ['sstash: repeat the new password: ', 'pw-typed-1\r'],
      ],
      ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC],
    )
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`sstash: new password for the stash ${path}: `)
    expect(r.stdout).toContain('sstash: repeat the new password: ')
    expect(r.stdout).toContain(`sstash: created ${path}`)
    expect(r.stdout).not.toContain('pw-typed-1')
    const check = await runBin('sstash', ['--stash', path, 'ls'], { env: { SSTASH_PASSWORD: 'pw-typed-1' } })
    expect(check.code).toBe(0)
  })

  it('refuses two different passwords on init and creates nothing', async () => {
    const path = join(dir, 'mismatch.sstash')
    const r = await onTerminal(
      [
        ['sstash: new password for the stash', 'one\r'],
        ['sstash: repeat the new password: ', 'two\r'],
      ],
      ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC],
    )
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('sstash: error: the two passwords differ; nothing was changed')
    expect(existsSync(path)).toBe(false)
  })

  it('refuses an empty password on init without asking again', async () => {
    const path = join(dir, 'empty.sstash')
    const r = await onTerminal([['sstash: new password for the stash', '\r']], ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC])
    expect(r.code).toBe(1)
    expect(r.stdout).not.toContain('Repeat')
    expect(r.stdout).toContain('sstash: error: the password is empty; nothing was changed')
    expect(existsSync(path)).toBe(false)
  })

  it('asks for the password, then the value, hidden, when set runs on a terminal', async () => {
    const path = join(dir, 'set.sstash')
    const env = { SSTASH_PASSWORD: 'pw' }
    expect((await runBin('sstash', ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC], { env })).code).toBe(0)
    const r = await onTerminal(
      [
        ['sstash: password for the stash', 'pw\r'],
        ['Ctrl-D', 'tok-typed-secret\r'],
        ['\n', '\x04'],
      ],
      ['--stash', path, 'set', 'project/api/token'],
    )
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('sstash: value for project/api/token (hidden; paste or type it, then press Ctrl-D on a new line; Ctrl-C stores nothing):')
    expect(r.stdout).not.toContain('tok-typed-secret')
    const get = await runBin('sstash', ['--stash', path, 'get', 'project/api/token'], { env })
    // The line break before Ctrl-D is dropped, as echo adds one: a typed token has none.
    expect(get.stdout).toBe('tok-typed-secret')
  })

  const PEM = ['-----BEGIN PRIVATE KEY-----', 'MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF', '-----END PRIVATE KEY-----']

  it('stores a PEM key pasted at the value prompt whole, every line, once Ctrl-D ends it', async () => {
    const path = join(dir, `pem${++counter}.sstash`)
    const env = { SSTASH_PASSWORD: 'pw' }
    expect((await runBin('sstash', ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC], { env })).code).toBe(0)
    // A terminal sends a pasted line break as CR; then the user presses Ctrl-D.
    const r = await onTerminal([['Ctrl-D', `${PEM.join('\r')}\r\x04`]], ['--stash', path, 'set', 'project/tls/key'], env)
    expect(r.code, r.stdout).toBe(0)
    expect(r.stdout).not.toContain('BEGIN PRIVATE KEY')
    const get = await runBin('sstash', ['--stash', path, 'get', 'project/tls/key'], { env })
    expect(get.stdout).toBe(PEM.join('\n'))
  })

  it('stores nothing when the value prompt is cancelled with Ctrl-C half-way through a paste, or ended with nothing typed', async () => {
    const path = join(dir, `pem${++counter}.sstash`)
    const env = { SSTASH_PASSWORD: 'pw' }
    expect((await runBin('sstash', ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC], { env })).code).toBe(0)
    const before = readFileSync(path)
    const cancelled = await onTerminal([['Ctrl-D', `${PEM[0]}\r${PEM[1]}\r\x03`]], ['--stash', path, 'set', 'project/tls/key'], env)
    expect(cancelled.code).toBe(5)
    expect(cancelled.stdout).toContain('sstash: error: cancelled')
    const empty = await onTerminal([['Ctrl-D', '\x04']], ['--stash', path, 'set', 'project/tls/key'], env)
    expect(empty.code).toBe(1)
    expect(empty.stdout).toContain('sstash: error: the value typed is empty: nothing was stored at project/tls/key')
    expect(readFileSync(path)).toEqual(before)
  })

  it('asks before rm -r / empties the stash, and removes nothing unless the answer is yes', async () => {
    const path = join(dir, `rm${++counter}.sstash`)
    await makeStash(path, 'pw', { 'a/b': '1', c: '2' })
    const env = { SSTASH_PASSWORD: 'pw' }
    const before = readFileSync(path)
    const no = await onTerminal([['Type yes to remove them: ', 'no\r']], ['--stash', path, 'rm', '-r', '/'], env)
    expect(no.stdout).toContain(`sstash: remove every key of ${path} (2 top-level keys: a, c)? Type yes to remove them: no`)
    expect(no.code).toBe(5)
    expect(no.stdout).toContain('sstash: error: nothing was removed')
    expect(readFileSync(path)).toEqual(before)
    const yes = await onTerminal([['Type yes to remove them: ', 'yes\r']], ['--stash', path, 'rm', '-r', '/'], env)
    expect(yes.code, yes.stdout).toBe(0)
    expect((await runBin('sstash', ['--stash', path, 'ls'], { env })).stdout).toBe('')
  })

  it('asks for the old password once and the new one twice on passwd', async () => {
    const path = join(dir, 'passwd.sstash')
    expect((await runBin('sstash', ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC], { env: { SSTASH_PASSWORD: 'old' } })).code).toBe(0)
    const r = await onTerminal(
      [
        ['sstash: password for the stash', 'old\r'],
        ['sstash: new password for the stash', 'new\r'],
        ['sstash: repeat the new password: ', 'new\r'],
      ],
      ['--stash', path, 'passwd'],
    )
    expect(r.code).toBe(0)
    expect((await runBin('sstash', ['--stash', path, 'ls'], { env: { SSTASH_PASSWORD: 'new' } })).code).toBe(0)
  })
})

describe('ask once', () => {
  it('asks for the password only at init: the sstash set that follows asks nothing', async () => {
    const path = fresh()
    const r = await scriptOnTerminal(
      [
        ['sstash: new password for the stash', `${PASSWORD}\r`],
        ['sstash: repeat the new password: ', `${PASSWORD}\r`],
      ],
      `"$NODE" "$SSTASH" --stash "$P" init --kdf ${TEST_KDF_SPEC} && printf v | "$NODE" "$SSTASH" --stash "$P" set k`,
      { P: path },
    )
    expect(r.code, r.stdout).toBe(0)
    expect(r.stdout).not.toContain('sstash: password for the stash')
    expect(r.stdout).not.toContain(PASSWORD)
    expect((await runBin('sstash', ['--stash', path, 'get', 'k'], { env: { SSTASH_PASSWORD: PASSWORD } })).stdout).toBe('v')
    expect(await heldFor(path)).toBe(15 * 60_000)
  })

  it('asks once for git credential fill and the approve that follows, with real git', async () => {
    const path = fresh()
    await makeStash(path, PASSWORD)
    const home = join(dir, `home-${counter}`)
    mkdirSync(home)
    const env = {
      HOME: home,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: undefined,
      GIT_ASKPASS: undefined,
      SSH_ASKPASS: undefined,
      P: path,
      H: `!"${process.execPath}" "${BIN.git}" --stash "${path}"`,
      REQUEST: join(home, 'request'),
      CHANGED: join(home, 'changed'),
      OUT: join(home, 'out'),
    }
    writeFileSync(env.REQUEST, 'protocol=https\nhost=once.example\nusername=u\n\n')
    writeFileSync(env.CHANGED, 'protocol=https\nhost=once.example\nusername=u\npassword=second\n\n')
    const store = await runBin('git', ['--stash', path, 'store'], { input: 'protocol=https\nhost=once.example\nusername=u\npassword=first\n', env: { SSTASH_PASSWORD: PASSWORD } })
    expect(store.code).toBe(0)
    const git = 'git -c credential.helper= -c "credential.helper=$H" credential'
    const r = await scriptOnTerminal([['sstash: password for the stash', `${PASSWORD}\r`]], `${git} fill < "$REQUEST" > "$OUT" && ${git} approve < "$CHANGED"`, env)
    expect(r.code, r.stdout).toBe(0)
    expect(count(r.stdout, 'sstash: password for the stash')).toBe(1)
    expect(readFileSync(env.OUT, 'utf8')).toContain('password=first\n')
    const opened = await SecureStash.open(path, PASSWORD, { create: false })
    expect(Buffer.from(await opened.readValue(['git', 'https', 'once.example', '-', 'u', 'password'])).toString()).toBe('second')
  })

  it('keeps a typed password out of the agent with SSTASH_AGENT_TIMEOUT=0, and holds it as long as asked otherwise', async () => {
    const off = fresh()
    const twoHours = fresh()
    await makeStash(off, PASSWORD, { k: 'v' })
    await makeStash(twoHours, PASSWORD, { k: 'v' })
    expect((await onTerminal([['sstash: password for the stash', `${PASSWORD}\r`]], ['--stash', off, 'get', 'k'], { SSTASH_AGENT_TIMEOUT: '0' })).code).toBe(0)
    expect(await heldFor(off)).toBeUndefined()
    expect((await onTerminal([['sstash: password for the stash', `${PASSWORD}\r`]], ['--stash', twoHours, 'get', 'k'], { SSTASH_AGENT_TIMEOUT: '2h' })).code).toBe(0)
    expect(await heldFor(twoHours)).toBe(2 * 3600_000)
  })

  it('gives a wrong password typed at the terminal three tries, as sudo and ssh do', async () => {
    const path = fresh()
    await makeStash(path, PASSWORD, { k: 'value' })
    const third = await onTerminal(
      [
        ['sstash: password for the stash', 'wrong one\r'],
        ['sstash: wrong password, try again', 'wrong two\r'],
        ['sstash: wrong password, try again', `${PASSWORD}\r`],
      ],
      ['--stash', path, 'get', 'k'],
      { SSTASH_AGENT_TIMEOUT: '0' },
    )
    expect(third.code, third.stdout).toBe(0)
    expect(third.stdout).toContain('value')
    const never = await onTerminal(
      [
        ['sstash: password for the stash', 'wrong one\r'],
        ['sstash: wrong password, try again', 'wrong two\r'],
        ['sstash: wrong password, try again', 'wrong three\r'],
      ],
      ['--stash', path, 'get', 'k'],
    )
    expect(never.code).toBe(4)
    expect(count(never.stdout, 'sstash: password for the stash')).toBe(3)
    expect(never.stdout).toMatch(/sstash: error: cannot decrypt [^\n]+: wrong password or damaged file\r?\n$/)
    expect(await heldFor(path)).toBeUndefined()
  })

  it('refuses what was typed when it is not UTF-8, instead of guessing', async () => {
    const path = fresh()
    await makeStash(path, PASSWORD, { k: 'v' })
    const r = await onTerminal([['sstash: password for the stash', { hex: '70ff770d' }]], ['--stash', path, 'get', 'k'])
    expect(r.code).toBe(5)
    expect(r.stdout).toContain('sstash: error: what was typed is not valid UTF-8 text; is the terminal set to UTF-8?')
  })
})

describe('errors before any prompt', () => {
  it('checks the directory of a new stash before it asks for a password', async () => {
    const path = join(dir, 'no-such-dir', 'x.sstash')
    const r = await onTerminal([], ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC])
    expect(r.code).toBe(1)
    expect(r.stdout).not.toContain('new password')
    expect(r.stdout).toContain(`sstash: error: cannot create ${path}: ${join(dir, 'no-such-dir')} is not a directory`)
    expect(r.stdout).toContain(`sstash: hint: make it first (\`mkdir -p ${join(dir, 'no-such-dir')}\`), or leave out --stash for the default stash`)
  })

  it('says a file is not a stash before it asks for a password', async () => {
    const notes = join(dir, 'notes.env')
    writeFileSync(notes, 'API_TOKEN=abc\n')
    const r = await onTerminal([], ['--stash', notes, 'ls'])
    // Exit 4, as for a damaged stash: the two cannot be told apart (docs/ERRORS.md).
    expect(r.code).toBe(4)
    expect(r.stdout).not.toContain('sstash: password for the stash')
    expect(r.stdout).toContain(`sstash: error: ${notes} is not a stash file\r\nsstash: hint: check --stash and SSTASH_FILE: a stash starts with sstash/1, or is the JSON of Python sstash 0.17`)
  })
})

describe('passphrase-protected ssh keys on a terminal', () => {
  const KEY_PASSPHRASE = 'ssh key passphrase'

  /** A home with ~/.ssh/id_ed25519 protected by a passphrase, and a team stash it is a member of. */
  async function memberWithProtectedKey(convert = false) {
    const home = join(dir, `home-${++counter}`)
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 })
    const key = join(home, '.ssh', 'id_ed25519')
    if (convert) {
      // Made without a passphrase, then given one with `ssh-keygen -p`, as people do.
      await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-a', '2', '-N', '', '-f', key])
      expect((await runCommand('ssh-keygen', ['-q', '-p', '-a', '2', '-P', '', '-N', KEY_PASSPHRASE, '-f', key])).code).toBe(0)
    } else await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-a', '2', '-N', KEY_PASSPHRASE, '-f', key])
    const runtimeDir = join(home, 'run')
    mkdirSync(runtimeDir, { mode: 0o700 })
    const askpass = join(home, 'askpass')
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' '${KEY_PASSPHRASE}'\n`, { mode: 0o700 })
    const env = { HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_STATE_HOME: join(home, 'state'), XDG_RUNTIME_DIR: runtimeDir }
    const team = join(home, 'team.sstash')
    const made = await runBin('sstash', ['--stash', team, 'team', 'init', '--as', 'bob'], { env: { ...env, SSTASH_IDENTITY_FILE: key, SSTASH_ASKPASS: askpass, SSTASH_AGENT_TIMEOUT: '0' } })
    expect(made.code, made.stderr).toBe(0)
    await runBin('sstash', ['--stash', team, 'set', 'dev/token'], { env: { ...env, SSTASH_IDENTITY_FILE: key, SSTASH_ASKPASS: askpass, SSTASH_AGENT_TIMEOUT: '0' }, input: 'team-token' })
    return { home, key, team, env, askpass }
  }

  it('asks for the passphrase of SSTASH_IDENTITY_FILE on the terminal, naming sstash and the key, and the agent then holds the key', async () => {
    const m = await memberWithProtectedKey()
    try {
      const r = await onTerminal([['sstash: passphrase for the ssh key ~/.ssh/id_ed25519: ', `${KEY_PASSPHRASE}\r`]], ['--stash', m.team, 'get', 'dev/token'], {
        ...m.env,
        SSTASH_IDENTITY_FILE: m.key,
        SSTASH_AGENT_TIMEOUT: '1m',
      })
      expect(r.code, r.stdout).toBe(0)
      expect(r.stdout).toContain('team-token')
      expect(r.stdout).not.toContain(KEY_PASSPHRASE)
      // No terminal and no SSTASH_ASKPASS now: the agent holds the decrypted key.
      const again = await runBin('sstash', ['--stash', m.team, 'get', 'dev/token'], { env: { ...m.env, SSTASH_IDENTITY_FILE: m.key } })
      expect([again.code, again.stdout, again.stderr]).toEqual([0, 'team-token', ''])
      expect(await heldFor(m.key, m.env)).toBe(60_000)
    } finally {
      await runBin('sstash', ['lock', '--all'], { env: m.env })
    }
  })

  it('finds ~/.ssh/id_ed25519 without SSTASH_IDENTITY_FILE, for a key converted by ssh-keygen -p', async () => {
    const m = await memberWithProtectedKey(true)
    const r = await onTerminal([['sstash: passphrase for the ssh key ~/.ssh/id_ed25519: ', `${KEY_PASSPHRASE}\r`]], ['--stash', m.team, 'get', 'dev/token'], { ...m.env, SSTASH_AGENT_TIMEOUT: '0' })
    expect(r.code, r.stdout).toBe(0)
    expect(r.stdout).toContain('team-token')
  })

  it('gives a wrong passphrase three tries, then a clear error, and never reads stdin', async () => {
    const m = await memberWithProtectedKey()
    const r = await onTerminal(
      [
        ['sstash: passphrase for the ssh key ~/.ssh/id_ed25519: ', 'wrong one\r'],
        ['sstash: wrong passphrase, try again', 'wrong two\r'],
        ['sstash: wrong passphrase, try again', 'wrong three\r'],
      ],
      ['--stash', m.team, 'get', 'dev/token'],
      { ...m.env, SSTASH_IDENTITY_FILE: m.key, SSTASH_AGENT_TIMEOUT: '0' },
    )
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/sstash: error: cannot decrypt the ssh key ~\/\.ssh\/id_ed25519: 3 wrong passphrases\r\nsstash: hint: check it with `ssh-keygen -y -f ~\/\.ssh\/id_ed25519`/)
    // Without a terminal, a passphrase on stdin is not taken.
    const piped = await runBin('sstash', ['--stash', m.team, 'get', 'dev/token'], { env: { ...m.env, SSTASH_IDENTITY_FILE: m.key }, input: `${KEY_PASSPHRASE}\n` })
    expect(piped.code).toBe(5)
    expect(piped.stderr).toMatch(/^sstash: error: the ssh key ~\/\.ssh\/id_ed25519 is protected by a passphrase, and there is no terminal to ask it on\n/)
  })

  it('takes the passphrase from SSTASH_ASKPASS, which is shown what it is for', async () => {
    const m = await memberWithProtectedKey()
    const shown = join(m.home, 'shown')
    writeFileSync(m.askpass, `#!/bin/sh\nprintf '%s' "$1" > '${shown}'\nprintf '%s\\n' '${KEY_PASSPHRASE}'\n`, { mode: 0o700 })
    const r = await runBin('sstash', ['--stash', m.team, 'get', 'dev/token'], { env: { ...m.env, SSTASH_IDENTITY_FILE: m.key, SSTASH_ASKPASS: m.askpass, SSTASH_AGENT_TIMEOUT: '0' } })
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'team-token', ''])
    expect(readFileSync(shown, 'utf8')).toBe('sstash: passphrase for the ssh key ~/.ssh/id_ed25519: ')
    writeFileSync(m.askpass, `#!/bin/sh\necho not-it\n`, { mode: 0o700 })
    const wrong = await runBin('sstash', ['--stash', m.team, 'get', 'dev/token'], { env: { ...m.env, SSTASH_IDENTITY_FILE: m.key, SSTASH_ASKPASS: m.askpass, SSTASH_AGENT_TIMEOUT: '0' } })
    expect([wrong.code, wrong.stderr.split('\n')[0]]).toEqual([1, 'sstash: error: cannot decrypt the ssh key ~/.ssh/id_ed25519: SSTASH_ASKPASS gave a wrong passphrase'])
  })
})
