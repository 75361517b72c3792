/**
 * `sstash enroll` as a user runs it, against a real `ssh-agent` holding keys added by `ssh-add`
 * (ed25519, RSA, ECDSA) and a real Secret Service (gnome-keyring-daemon under dbus-run-session),
 * with the attacks an enrolled source must withstand: another key in the agent, a forged
 * header, a dead agent socket.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { BIN, ROOT, agentRuntimeDir, makeStash, runBin, runCommand, tempDir } from '../helpers.js'

const dir = tempDir()
const runtime = agentRuntimeDir()
const hasSshAgent = spawnSync('ssh-agent', ['-k'], { env: {} }).error === undefined && spawnSync('ssh-add', ['-h']).error === undefined
const hasKeyring = ['secret-tool', 'gnome-keyring-daemon', 'dbus-run-session'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0)
const PASSWORD = 'correct horse battery'
let n = 0

/**
 * A real ssh-agent on a socket path like a forwarded agent's (/tmp/ssh-XXXX/agent.<pid>), killed when the test ends, whatever its outcome.
 * @param agentEnv - added to the agent's environment (SSH_ASKPASS, for keys that ask for a confirmation)
 */
function sshAgent(agentEnv: Record<string, string> = {}): { sock: string; add: (file: string, ...options: string[]) => void; remove: (file: string) => void } {
  const sockDir = join(dir, `ssh-Xy${n++}Qz`)
  mkdirSync(sockDir, { mode: 0o700 })
  const sock = join(sockDir, `agent.${4242 + n}`)
  const started = spawnSync('ssh-agent', ['-s', '-a', sock], { encoding: 'utf8', env: { ...process.env, ...agentEnv } })
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(started.stdout)?.[1])
  // ssh-agent -s forks into the background: nothing ends it but this.
  onTestFinished(() => {
    try {
      if (pid > 0) process.kill(pid)
    } catch {
      // It is gone already.
    }
  })
  const env = { ...process.env, SSH_AUTH_SOCK: sock }
  return {
    sock,
    add: (file, ...options) => expect(spawnSync('ssh-add', ['-q', ...options, file], { env }).status).toBe(0),
    remove: (file) => expect(spawnSync('ssh-add', ['-d', `${file}.pub`], { env }).status).toBe(0),
  }
}

function keygen(type: 'ed25519' | 'rsa' | 'ecdsa', comment: string): string {
  const file = join(dir, `id_${type}_${n++}`)
  spawnSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', comment, '-f', file])
  return file
}

/** A SSTASH_ASKPASS program that prints the stash password. */
function askpassFile(): string {
  const askpass = join(dir, `askpass${n++}`)
  writeFileSync(askpass, `#!/bin/sh\necho '${PASSWORD}'\n`, { mode: 0o700 })
  return askpass
}

const fingerprint = (file: string): string => spawnSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1] as string

/** A stash holding one value, and a way to run sstash on it with a given environment. */
async function stash(env: Record<string, string | undefined>) {
  const path = join(dir, `s${n++}.sstash`)
  await makeStash(path, PASSWORD, { 'dev/token': 'tok-1' })
  const withPassword = { SSTASH_PASSWORD: PASSWORD }
  const base = { XDG_RUNTIME_DIR: runtime, SSTASH_AGENT_TIMEOUT: '0', ...env }
  const run = (args: string[], extra: Record<string, string | undefined> = {}) => runBin('sstash', ['--stash', path, ...args], { env: { ...base, ...extra } })
  return { path, run, withPassword }
}

describe.skipIf(!hasSshAgent)('sstash enroll ssh-agent', () => {
  it('opens the stash with an ed25519 key of the agent and no password source, then falls back to the password once the key is removed', async () => {
    const agent = sshAgent()
    const key = keygen('ed25519', 'alice@laptop')
    agent.add(key)
    const s = await stash({ SSH_AUTH_SOCK: agent.sock })
    const enrolled = await s.run(['enroll', 'ssh-agent'], s.withPassword)
    expect([enrolled.code, enrolled.stdout]).toEqual([0, ''])
    expect(enrolled.stderr).toBe(`sstash: ssh-agent ssh-ed25519 ${fingerprint(key)} now opens ${s.path} while it is in your ssh-agent; the password still does\n`)
    expect(await s.run(['get', 'dev/token'])).toMatchObject({ code: 0, stdout: 'tok-1', stderr: '' })
    agent.remove(key)
    const started = Date.now()
    const without = await s.run(['get', 'dev/token'])
    expect(without.code).toBe(5)
    expect(without.stderr).toMatch(/^sstash: error: no password for /)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(await s.run(['get', 'dev/token'], s.withPassword)).toMatchObject({ code: 0, stdout: 'tok-1' })
  })

  it('names each enrolled source it tried, and why it did not open the stash, when no password source works', async () => {
    const agent = sshAgent()
    const key = keygen('ed25519', 'alice@laptop')
    agent.add(key)
    const s = await stash({ SSH_AUTH_SOCK: agent.sock })
    expect((await s.run(['enroll', 'ssh-agent'], s.withPassword)).code).toBe(0)
    agent.remove(key)
    const tried = `tried ssh-agent ssh-ed25519 ${fingerprint(key)}`
    const rest = 'there is no terminal to ask on, and none of SSTASH_PASSWORD_FILE, SSTASH_PASSWORD, SSTASH_ASKPASS is set'
    const notHeld = await s.run(['get', 'dev/token'])
    expect([notHeld.code, notHeld.stdout]).toEqual([5, ''])
    // One error line and one hint, naming the source and why; never a password nor what the header holds.
    expect(notHeld.stderr).toBe(
      `sstash: error: no password for ${s.path}: ${tried} (the ssh-agent does not hold it); ${rest}\n` +
        'sstash: hint: run `sstash unlock` in a terminal first, or set one of them, or `ssh-add` the enrolled key\n',
    )
    const unset = await s.run(['get', 'dev/token'], { SSH_AUTH_SOCK: undefined })
    expect(unset.stderr.split('\n')[0]).toBe(`sstash: error: no password for ${s.path}: ${tried} (SSH_AUTH_SOCK is not set); ${rest}`)
    const dead = await s.run(['get', 'dev/token'], { SSH_AUTH_SOCK: join(dir, 'gone', 'agent.1') })
    expect(dead.stderr.split('\n')[0]).toBe(`sstash: error: no password for ${s.path}: ${tried} (no ssh-agent answers at SSH_AUTH_SOCK); ${rest}`)
    expect(notHeld.stderr + unset.stderr + dead.stderr).not.toContain(PASSWORD)
    // A stash with no enrolled source says what it always said.
    const plain = await stash({ SSH_AUTH_SOCK: agent.sock })
    expect((await plain.run(['get', 'dev/token'])).stderr.split('\n')[0]).toBe(`sstash: error: no password for ${plain.path}: ${rest}`)
  })

  it('says the ssh-agent refused to sign when the enrolled key asks for a confirmation that is declined, and falls back at once', async () => {
    // ssh-agent asks SSH_ASKPASS to confirm each use of a key added with `ssh-add -c`: this one declines.
    const decline = join(dir, `decline${n++}`)
    writeFileSync(decline, '#!/bin/sh\nexit 1\n', { mode: 0o700 })
    const agent = sshAgent({ SSH_ASKPASS: decline, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' })
    const key = keygen('ed25519', 'confirm')
    agent.add(key)
    const s = await stash({ SSH_AUTH_SOCK: agent.sock })
    expect((await s.run(['enroll', 'ssh-agent'], s.withPassword)).code).toBe(0)
    agent.remove(key)
    agent.add(key, '-c')
    const started = Date.now()
    const refused = await s.run(['get', 'dev/token'])
    expect([refused.code, refused.stdout]).toEqual([5, ''])
    expect(refused.stderr.split('\n')[0]).toBe(
      `sstash: error: no password for ${s.path}: tried ssh-agent ssh-ed25519 ${fingerprint(key)} (the ssh-agent refused to sign with it); ` +
        'there is no terminal to ask on, and none of SSTASH_PASSWORD_FILE, SSTASH_PASSWORD, SSTASH_ASKPASS is set',
    )
    expect(Date.now() - started).toBeLessThan(5_000)
    // The password still opens it, with the ssh-agent refusing first.
    expect(await s.run(['get', 'dev/token'], { SSTASH_ASKPASS: askpassFile() })).toMatchObject({ code: 0, stdout: 'tok-1', stderr: '' })
  })

  it('enrolls an RSA key chosen by its comment, which signs with rsa-sha2-512', async () => {
    const agent = sshAgent()
    const ed = keygen('ed25519', 'other')
    const rsa = keygen('rsa', 'bob@rsa')
    agent.add(ed)
    agent.add(rsa)
    const s = await stash({ SSH_AUTH_SOCK: agent.sock })
    expect((await s.run(['enroll', 'ssh-agent', '--key', 'bob@rsa'], s.withPassword)).code).toBe(0)
    const list = await s.run(['enroll', '--list', '--json'])
    expect(JSON.parse(list.stdout)).toEqual({ stash: s.path, sources: [{ type: 'password' }, { type: 'ssh-agent', keyType: 'ssh-rsa', fingerprint: fingerprint(rsa) }] })
    agent.remove(ed)
    expect(await s.run(['get', 'dev/token'])).toMatchObject({ code: 0, stdout: 'tok-1' })
  })

  it('refuses an ECDSA key before asking for the password, and leaves the file unchanged', async () => {
    const agent = sshAgent()
    const ec = keygen('ecdsa', 'ec')
    agent.add(ec)
    const s = await stash({ SSH_AUTH_SOCK: agent.sock })
    const before = readFileSync(s.path)
    const refused = await s.run(['enroll', 'ssh-agent', '--key', fingerprint(ec)])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^sstash: error: the ssh key ecdsa-sha2-nistp256 cannot open a stash: its signatures are not deterministic \(they differ each time\)\nsstash: hint: /)
    expect(readFileSync(s.path)).toEqual(before)
  })

  it('says what is missing when there is no agent or no such key, before any password is asked', async () => {
    const s = await stash({ SSH_AUTH_SOCK: undefined })
    expect((await s.run(['enroll', 'ssh-agent'])).stderr).toMatch(/^sstash: error: no ssh-agent: SSH_AUTH_SOCK is not set\n/)
    const dead = await s.run(['enroll', 'ssh-agent'], { SSH_AUTH_SOCK: join(dir, 'no-such-socket') })
    expect(dead.stderr).toMatch(/^sstash: error: cannot reach the ssh-agent at /)
    const agent = sshAgent()
    agent.add(keygen('ed25519', 'x'))
    const none = await s.run(['enroll', 'ssh-agent', '--key', 'nobody'], { SSH_AUTH_SOCK: agent.sock })
    expect([none.code, none.stderr.split('\n')[0]]).toEqual([1, 'sstash: error: the ssh-agent holds no key "nobody"'])
  })

  it('falls back at once to the password when SSH_AUTH_SOCK is dead, a stale socket, or another program', async () => {
    const agent = sshAgent()
    const key = keygen('ed25519', 'k')
    agent.add(key)
    const s = await stash({ SSH_AUTH_SOCK: agent.sock })
    expect((await s.run(['enroll', 'ssh-agent'], s.withPassword)).code).toBe(0)
    const askpass = askpassFile()
    // A socket file nobody listens on, as a killed agent leaves; a path that is not there; not a socket.
    const stale = join(dir, `stale-${n++}.sock`)
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.exit(0))`])
    for (const sock of [stale, join(dir, 'gone', 'agent.1'), '/dev/null']) {
      const started = Date.now()
      const r = await s.run(['get', 'dev/token'], { SSH_AUTH_SOCK: sock, SSTASH_ASKPASS: askpass })
      expect([r.code, r.stdout, r.stderr]).toEqual([0, 'tok-1', ''])
      expect(Date.now() - started).toBeLessThan(2_500)
    }
    // A program that accepts the connection and never answers: given up on after 3 s.
    const silent = join(dir, `silent-${n++}.sock`)
    const listener = spawn(process.execPath, ['-e', `require('net').createServer(() => {}).listen(${JSON.stringify(silent)}, () => console.log('up'))`])
    try {
      await new Promise((resolve) => listener.stdout.once('data', resolve))
      const started = Date.now()
      const r = await s.run(['get', 'dev/token'], { SSH_AUTH_SOCK: silent, SSTASH_ASKPASS: askpass })
      expect([r.code, r.stdout, r.stderr]).toEqual([0, 'tok-1', ''])
      expect(Date.now() - started).toBeLessThan(8_000)
    } finally {
      listener.kill()
    }
  })

  it('does not open with another key in the agent, nor with a recipient forged into the header', async () => {
    const agent = sshAgent()
    const alice = keygen('ed25519', 'alice')
    const mallory = keygen('ed25519', 'mallory')
    agent.add(alice)
    const s = await stash({ SSH_AUTH_SOCK: agent.sock })
    expect((await s.run(['enroll', 'ssh-agent'], s.withPassword)).code).toBe(0)
    agent.remove(alice)
    agent.add(mallory)
    expect((await s.run(['get', 'dev/token'])).code).toBe(5)
    // Mallory, who can write the file, swaps the enrolled key for hers: without the file key she
    // cannot make a wrap that opens, nor a header MAC that holds.
    const bytes = readFileSync(s.path)
    const end = bytes.indexOf(0x0a, 9)
    const header = JSON.parse(bytes.subarray(9, end).toString()) as { recipients: Record<string, string>[] }
    const mine = Buffer.from(readFileSync(`${mallory}.pub`, 'utf8').split(' ')[1] as string, 'base64').toString('base64')
    header.recipients[1]!.key = mine
    writeFileSync(s.path, Buffer.concat([Buffer.from('sstash/1\n'), Buffer.from(JSON.stringify(header)), bytes.subarray(end)]))
    expect((await s.run(['get', 'dev/token'])).code).toBe(5)
    const withPassword = await s.run(['get', 'dev/token'], s.withPassword)
    expect([withPassword.code, withPassword.stderr]).toEqual([4, `sstash: error: cannot decrypt ${s.path}: wrong password or damaged file\n`])
  })

  it('keeps an enrolled key through passwd, and names the one it could not reach', async () => {
    const agent = sshAgent()
    const here = keygen('ed25519', 'here')
    const gone = keygen('rsa', 'gone')
    agent.add(here)
    agent.add(gone)
    const s = await stash({ SSH_AUTH_SOCK: agent.sock })
    expect((await s.run(['enroll', 'ssh-agent', '--key', 'here'], s.withPassword)).code).toBe(0)
    expect((await s.run(['enroll', 'ssh-agent', '--key', 'gone'], s.withPassword)).code).toBe(0)
    agent.remove(gone)
    const changed = await s.run(['passwd'], { ...s.withPassword, SSTASH_NEW_PASSWORD: 'a new password' })
    expect(changed.code).toBe(0)
    expect(changed.stderr).toContain(`sstash: warning: removed ssh-agent ssh-rsa ${fingerprint(gone)}: it could not be reached to follow the new password; enroll it again\n`)
    expect(await s.run(['get', 'dev/token'])).toMatchObject({ code: 0, stdout: 'tok-1' })
    expect((await s.run(['get', 'dev/token'], { SSH_AUTH_SOCK: undefined, SSTASH_PASSWORD: 'a new password' })).stdout).toBe('tok-1')
    expect((await s.run(['enroll', '--list'])).stdout).toBe(`password\nssh-agent ssh-ed25519 ${fingerprint(here)}\n`)
    const removed = await s.run(['enroll', '--remove', 'ssh-agent'])
    expect(removed.stderr).toBe(`sstash: removed ssh-agent ssh-ed25519 ${fingerprint(here)} from ${s.path}\n`)
    expect((await s.run(['get', 'dev/token'])).code).toBe(5)
    expect((await s.run(['enroll', '--remove', 'ssh-agent'])).stderr).toMatch(/^sstash: error: .* has no ssh-agent enrolled\n/)
  })

  it('refuses to enroll a Python-format stash, saying to migrate it first', async () => {
    const path = join(dir, `py${n++}.sstash`)
    const { SecureStash } = await import('../../src/index.js')
    await SecureStash.open(path, PASSWORD, { kdf: { name: 'pbkdf2-sha512', iterations: 100 } })
    const r = await runBin('sstash', ['--stash', path, 'enroll', 'keyring'], { env: { SSTASH_PASSWORD: PASSWORD } })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`sstash: error: ${path} is in the Python format, which has no room for other ways to open it\nsstash: hint: \`sstash migrate\` turns it into the native format (the Python package then no longer opens it); then enroll\n`)
  })
})

/** Runs a shell script inside a fresh D-Bus session with an unlocked gnome-keyring. */
function inKeyring(script: string, env: Record<string, string | undefined>) {
  return runCommand('dbus-run-session', ['--', 'sh', join(ROOT, 'test/fixtures/cli/with-keyring.sh'), 'sh', '-c', script], {
    env: { NODE: process.execPath, SSTASH: BIN.sstash, XDG_RUNTIME_DIR: runtime, SSTASH_AGENT_TIMEOUT: '0', ...env },
    timeoutMs: 60_000,
  })
}

/** A home of its own (where the keyring daemon keeps its files) and a stash holding `a`. */
async function keyringCase(value: string): Promise<{ home: string; path: string }> {
  const home = join(dir, `home${n++}`)
  mkdirSync(home)
  const path = join(dir, `k${n++}.sstash`)
  await makeStash(path, PASSWORD, { a: value })
  return { home, path }
}

describe.skipIf(!hasKeyring)('sstash enroll keyring', () => {
  it('opens the stash through the Secret Service, which holds a random key and never the password', async () => {
    const { home, path } = await keyringCase('through the keyring')
    const r = await inKeyring(
      [
        'SSTASH_PASSWORD="$PW" "$NODE" "$SSTASH" --stash "$STASH" enroll keyring || exit 1',
        '"$NODE" "$SSTASH" --stash "$STASH" enroll --list; echo ---',
        '"$NODE" "$SSTASH" --stash "$STASH" get a; echo; echo ---',
        'secret-tool search --all service sstash 2>/dev/null | grep "^secret = "; echo ---',
        '"$NODE" "$SSTASH" --stash "$STASH" enroll --remove keyring',
        '"$NODE" "$SSTASH" --stash "$STASH" get a; echo " rc=$?"',
        'secret-tool search --all service sstash 2>/dev/null | wc -l',
      ].join('\n'),
      { HOME: home, STASH: path, PW: PASSWORD },
    )
    const [list, got, secret, after] = r.stdout.split('---\n')
    expect(list).toBe('password\nkeyring\n')
    expect(got).toBe('through the keyring\n')
    const stored = /^secret = (.*)$/m.exec(secret ?? '')?.[1] ?? ''
    expect(Buffer.from(stored, 'base64')).toHaveLength(32)
    expect(stored).not.toContain(PASSWORD)
    expect(readFileSync(path, 'latin1')).not.toContain(stored)
    expect(after).toBe(' rc=5\n0\n')
    expect(r.stderr).toContain(`sstash: the keyring now opens ${path}; the password still does\n`)
    expect(r.stderr).toContain(`sstash: removed keyring from ${path}\n`)
  })

  it('falls back to the password when the keyring has lost its secret, or there is no Secret Service', async () => {
    const { home, path } = await keyringCase('v')
    const r = await inKeyring(
      [
        'SSTASH_PASSWORD="$PW" "$NODE" "$SSTASH" --stash "$STASH" enroll keyring || exit 1',
        'secret-tool clear service sstash',
        '"$NODE" "$SSTASH" --stash "$STASH" get a; echo " rc=$?"',
      ].join('\n'),
      { HOME: home, STASH: path, PW: PASSWORD },
    )
    expect(r.stdout).toBe(' rc=5\n')
    expect(r.stderr).toContain(': tried keyring (the Secret Service holds no entry for this stash); there is no terminal to ask on')
    // Outside any D-Bus session: no Secret Service at all, and the next source (SSTASH_ASKPASS) at once.
    const askpass = askpassFile()
    const started = Date.now()
    const outside = await runBin('sstash', ['--stash', path, 'get', 'a'], { env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent', XDG_RUNTIME_DIR: runtime, SSTASH_AGENT_TIMEOUT: '0', SSTASH_ASKPASS: askpass } })
    expect([outside.code, outside.stdout, outside.stderr]).toEqual([0, 'v', ''])
    expect(Date.now() - started).toBeLessThan(5_000)
    const nothing = await runBin('sstash', ['--stash', path, 'get', 'a'], { env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent', XDG_RUNTIME_DIR: runtime, SSTASH_AGENT_TIMEOUT: '0' } })
    expect(nothing.code).toBe(5)
    expect(nothing.stderr.split('\n')[0]).toBe(
      `sstash: error: no password for ${path}: tried keyring (the Secret Service cannot be reached (no D-Bus session, or the keyring is locked)); there is no terminal to ask on, and none of SSTASH_PASSWORD_FILE, SSTASH_PASSWORD, SSTASH_ASKPASS is set`,
    )
  })

  it.skipIf(!hasSshAgent)('asks the keyring only when the ssh-agent key enrolled before it cannot open the stash', async () => {
    const { home, path } = await keyringCase('either way')
    const agent = sshAgent()
    const key = keygen('ed25519', 'first')
    agent.add(key)
    // The real secret-tool, run through a script that notes each time sstash runs it.
    const wrapDir = join(dir, `wrap${n++}`)
    mkdirSync(wrapDir)
    const realTool = spawnSync('sh', ['-c', 'command -v secret-tool'], { encoding: 'utf8' }).stdout.trim()
    writeFileSync(join(wrapDir, 'secret-tool'), `#!/bin/sh\necho "$1" >> "$LOG"\nexec ${realTool} "$@"\n`, { mode: 0o700 })
    const r = await inKeyring(
      [
        'SSTASH_PASSWORD="$PW" "$NODE" "$SSTASH" --stash "$STASH" enroll ssh-agent || exit 1',
        'SSTASH_PASSWORD="$PW" "$NODE" "$SSTASH" --stash "$STASH" enroll keyring || exit 1',
        ': > "$LOG"',
        'PATH="$WRAP:$PATH" "$NODE" "$SSTASH" --stash "$STASH" get a; echo; cat "$LOG"; echo ---',
        'ssh-add -q -d "$KEY.pub" 2>/dev/null || exit 1',
        'PATH="$WRAP:$PATH" "$NODE" "$SSTASH" --stash "$STASH" get a; echo; cat "$LOG"',
      ].join('\n'),
      { HOME: home, STASH: path, PW: PASSWORD, SSH_AUTH_SOCK: agent.sock, WRAP: wrapDir, LOG: join(wrapDir, 'log'), KEY: key },
    )
    // Through the ssh-agent: the keyring is not asked. Without the key: the keyring, once.
    expect(r.stdout).toBe('either way\n---\neither way\nlookup\n')
  })
})

describe.skipIf(!hasSshAgent)('team stashes through the personal stash', () => {
  it('opens a team stash with the key bob was added with, kept by identity --import, through an enrolled ssh-agent key and no prompt', async () => {
    const home = join(dir, `bob${n++}`)
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 })
    const bobKey = join(home, '.ssh', 'id_ed25519')
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-a', '2', '-N', 'bob passphrase', '-C', 'bob@laptop', '-f', bobKey])
    const askpass = join(home, 'askpass')
    writeFileSync(askpass, "#!/bin/sh\necho 'bob passphrase'\n", { mode: 0o700 })
    const alice = keygen('ed25519', 'alice')
    const team = join(dir, `team${n++}.sstash`)
    const aliceEnv = { HOME: join(dir, `alice${n++}`), SSTASH_IDENTITY_FILE: alice, SSH_AUTH_SOCK: undefined }
    const asAlice = (args: string[], input?: string) => runBin('sstash', ['--stash', team, ...args], { env: aliceEnv, input })
    expect((await asAlice(['team', 'init', '--as', 'alice'])).code).toBe(0)
    expect((await asAlice(['team', 'add', 'bob', '--key', `${bobKey}.pub`])).code).toBe(0)
    await asAlice(['set', 'api/token'], 'shared-token')

    const agent = sshAgent()
    const agentKey = keygen('ed25519', 'bob-agent')
    agent.add(agentKey)
    const bob = { HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_STATE_HOME: join(home, 'state'), XDG_RUNTIME_DIR: runtime, SSTASH_AGENT_TIMEOUT: '0', SSH_AUTH_SOCK: agent.sock }
    const personal = join(home, 'data', 'sstash', 'stash.sstash')
    mkdirSync(join(home, 'data', 'sstash'), { recursive: true, mode: 0o700 })
    await makeStash(personal, PASSWORD)
    // A personal identity that is not a member: the hint names the ways in, never a new identity.
    expect((await runBin('sstash', ['identity'], { env: { ...bob, SSTASH_PASSWORD: PASSWORD } })).code).toBe(0)
    const notMember = await runBin('sstash', ['--stash', team, 'get', 'api/token'], { env: { ...bob, SSTASH_PASSWORD: PASSWORD } })
    expect(notMember.code).toBe(1)
    expect(notMember.stderr).toContain('SSTASH_IDENTITY_FILE=~/.ssh/id_ed25519')
    expect(notMember.stderr).toContain('sstash identity --import FILE')
    expect(notMember.stderr).not.toMatch(/run `sstash identity`/)

    const imported = await runBin('sstash', ['identity', '--import', bobKey, '--force'], { env: { ...bob, SSTASH_PASSWORD: PASSWORD, SSTASH_ASKPASS: askpass } })
    expect(imported.code, imported.stderr).toBe(0)
    expect(imported.stdout).toBe(`${readFileSync(`${bobKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`)
    expect((await runBin('sstash', ['--stash', personal, 'enroll', 'ssh-agent'], { env: { ...bob, SSTASH_PASSWORD: PASSWORD } })).code).toBe(0)
    // No password, no passphrase, no SSTASH_IDENTITY_FILE: the agent key opens the personal stash, which holds bob's key.
    const got = await runBin('sstash', ['--stash', team, 'get', 'api/token'], { env: bob })
    expect([got.code, got.stdout, got.stderr]).toEqual([0, 'shared-token', ''])
    // The key is stored in the personal stash, not the passphrase nor an encrypted copy.
    expect(readFileSync(personal, 'latin1')).not.toContain('bob passphrase')
  })
})
