/**
 * The OS keyring, through its command-line tools: the Secret Service on Linux (`secret-tool`,
 * from libsecret-tools: GNOME Keyring, KeePassXC, KWallet's bridge) and the login Keychain on
 * macOS (`security`; untested here, kept small). It keeps one random secret per enrolled stash,
 * found by the attributes `service=sstash` and `id=<hex>`; never a password.
 *
 * A secret never goes into argv (where `ps` shows it): `secret-tool store` reads it from stdin,
 * `security -i` reads its command (with the secret) from stdin; lookups print it on stdout.
 * Every call has a timeout, so a keyring that waits for a dialog nobody sees fails instead of hanging.
 */
import { execFile } from 'node:child_process'
import { SSError } from '../errors.js'

type Env = Record<string, string | undefined>

/** How long a keyring tool may take (it may show an unlock dialog). */
export const KEYRING_TIMEOUT_MS = 20_000
const SERVICE = 'sstash'

interface Ran {
  code: number
  stdout: string
  stderr: string
  /** Why the program gave no answer: it is not installed, or it took longer than {@link KEYRING_TIMEOUT_MS}. */
  failed?: 'missing' | 'timeout'
}

function run(program: string, args: string[], input: string | undefined, env: Env): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(program, args, { env: env as NodeJS.ProcessEnv, timeout: KEYRING_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : -1) : 0
      const failed = (error as { code?: unknown } | null)?.code === 'ENOENT' ? 'missing' : error?.killed ? 'timeout' : undefined
      resolve({ code, stdout, stderr, ...(failed && { failed }) })
    })
    child.stdin?.on('error', () => undefined)
    child.stdin?.end(input ?? '')
  })
}

/** Which keyring this platform uses, by name, for messages and `enroll --list`. */
export function keyringName(): string {
  return process.platform === 'darwin' ? 'the login Keychain' : 'the Secret Service'
}

function failed(what: string): SSError {
  const hint =
    process.platform === 'darwin'
      ? 'check that the login Keychain is unlocked (`security unlock-keychain`)'
      : 'install libsecret-tools (`secret-tool`), and run inside a desktop session whose keyring is unlocked (GNOME Keyring, KeePassXC)'
  return new SSError(`${what} in ${keyringName()}`, 'KEYRING_FAILED', { hint })
}

/**
 * Stores `secret` (text) under `id`, replacing what was there.
 * @param label - what a keyring viewer shows
 * @throws {SSError} KEYRING_FAILED
 */
export async function keyringStore(id: string, secret: string, label: string, env: Env = process.env): Promise<void> {
  const result =
    process.platform === 'darwin'
      ? await run('security', ['-i'], `add-generic-password -U -s ${SERVICE} -a ${id} -l ${JSON.stringify(label)} -w ${secret}\n`, env)
      : await run('secret-tool', ['store', `--label=${label}`, 'service', SERVICE, 'id', id], secret, env)
  if (result.code !== 0) throw failed(`cannot store sstash's key`)
}

/**
 * The secret stored under `id`.
 * @returns undefined when there is none, or the keyring cannot be reached (never throws)
 */
export async function keyringLookup(id: string, env: Env = process.env): Promise<string | undefined> {
  const found = await keyringFind(id, env)
  return 'secret' in found ? found.secret : undefined
}

/**
 * The secret stored under `id`, or why there is none, in words for an error message (the tool
 * is not installed, the keyring holds no entry, it cannot be reached, it did not answer).
 * Never throws; the reason never holds anything the tool printed.
 */
export async function keyringFind(id: string, env: Env = process.env): Promise<{ secret: string } | { why: string }> {
  const mac = process.platform === 'darwin'
  const result = mac
    ? await run('security', ['find-generic-password', '-s', SERVICE, '-a', id, '-w'], undefined, env)
    : await run('secret-tool', ['lookup', 'service', SERVICE, 'id', id], undefined, env)
  const secret = result.stdout.replace(/\r?\n$/, '')
  if (result.code === 0 && secret !== '') return { secret }
  if (result.failed === 'missing') return { why: mac ? '`security` is not installed' : 'secret-tool is not installed (libsecret-tools)' }
  if (result.failed === 'timeout') return { why: `${keyringName()} did not answer within ${KEYRING_TIMEOUT_MS / 1000} s` }
  // secret-tool exits 1 silently for no entry, and says why on stderr when it cannot reach the service; security exits 44 for no entry.
  if (mac ? result.code === 44 : result.stderr.trim() === '') return { why: `${keyringName()} holds no entry for this stash` }
  return { why: `${keyringName()} cannot be reached (${mac ? 'is the login Keychain locked?' : 'no D-Bus session, or the keyring is locked'})` }
}

/** Removes the secret stored under `id`. Best effort: a secret that is already gone is fine. */
export async function keyringClear(id: string, env: Env = process.env): Promise<void> {
  if (process.platform === 'darwin') await run('security', ['delete-generic-password', '-s', SERVICE, '-a', id], undefined, env)
  else await run('secret-tool', ['clear', 'service', SERVICE, 'id', id], undefined, env)
}
