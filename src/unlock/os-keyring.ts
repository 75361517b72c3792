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

function run(program: string, args: string[], input: string | undefined, env: Env): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = execFile(program, args, { env: env as NodeJS.ProcessEnv, timeout: KEYRING_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : -1) : 0
      resolve({ code, stdout })
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
  const result =
    process.platform === 'darwin'
      ? await run('security', ['find-generic-password', '-s', SERVICE, '-a', id, '-w'], undefined, env)
      : await run('secret-tool', ['lookup', 'service', SERVICE, 'id', id], undefined, env)
  const secret = result.stdout.replace(/\r?\n$/, '')
  return result.code === 0 && secret !== '' ? secret : undefined
}

/** Removes the secret stored under `id`. Best effort: a secret that is already gone is fine. */
export async function keyringClear(id: string, env: Env = process.env): Promise<void> {
  if (process.platform === 'darwin') await run('security', ['delete-generic-password', '-s', SERVICE, '-a', id], undefined, env)
  else await run('secret-tool', ['clear', 'service', SERVICE, 'id', id], undefined, env)
}
