/**
 * Unlocking: where a binary gets the stash password from, in this order:
 *   1. SSTASH_PASSWORD_FILE (a file holding the password; one trailing newline is dropped)
 *   2. SSTASH_PASSWORD (for CI; weaker: the environment is visible to the user's processes)
 *   3. SSTASH_ASKPASS (a program that prints the password, as SSH_ASKPASS does)
 *   4. a hidden prompt on /dev/tty, when there is a terminal and prompting is allowed
 *   5. otherwise an SSError NO_PASSWORD at once: nothing ever waits for input that cannot come
 * Never stdin or stdout: those belong to git, or to the program sstash-run starts.
 */
import { readFile } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { SSError } from './errors.js'
import { SecureStash, type OpenOptions } from './stash.js'
import { promptHidden } from './tty.js'

type Env = Record<string, string | undefined>

/** Variables that carry the stash password; sstash-run removes them from a child's environment. */
export const PASSWORD_ENV_VARS = ['SSTASH_PASSWORD', 'SSTASH_PASSWORD_FILE', 'SSTASH_ASKPASS'] as const

/** What {@link getPassword} may use. */
export interface PasswordOptions {
  /** The stash the password is for, shown in the prompt. */
  stashPath: string
  /** Allow the /dev/tty prompt (default true). The git helper passes false when GIT_TERMINAL_PROMPT=0. */
  prompt?: boolean
  /** The environment to read SSTASH_* from (default process.env). */
  env?: Env
}

const dropNewline = (text: string): string => text.replace(/\r?\n$/, '')

/**
 * The password from the non-interactive sources (1 to 3), or undefined when none is set.
 * @throws {SSError} NO_PASSWORD when a source is set but fails (unreadable file, askpass failed)
 */
export async function passwordFromEnvironment(stashPath: string, env: Env = process.env): Promise<string | undefined> {
  const file = env.SSTASH_PASSWORD_FILE
  if (file) {
    try {
      return dropNewline(await readFile(file, 'utf8'))
    } catch (error) {
      throw new SSError(`cannot read SSTASH_PASSWORD_FILE ${file}: ${(error as NodeJS.ErrnoException).code}`, 'NO_PASSWORD', { cause: error })
    }
  }
  if (env.SSTASH_PASSWORD !== undefined && env.SSTASH_PASSWORD !== '') return env.SSTASH_PASSWORD
  const askpass = env.SSTASH_ASKPASS
  if (askpass) {
    return new Promise((resolve, reject) => {
      execFile(askpass, [`Password for ${stashPath}: `], { encoding: 'utf8', timeout: 5 * 60_000 }, (error, stdout) => {
        if (error) reject(new SSError(`SSTASH_ASKPASS program ${askpass} failed`, 'NO_PASSWORD', { cause: error }))
        else resolve(dropNewline(stdout))
      })
    })
  }
  return undefined
}

/**
 * The stash password from the first source that has one.
 * @throws {SSError} NO_PASSWORD when there is none, or the prompt was cancelled
 */
export async function getPassword(options: PasswordOptions): Promise<string> {
  const fromEnv = await passwordFromEnvironment(options.stashPath, options.env)
  if (fromEnv !== undefined) return fromEnv
  if (options.prompt !== false) {
    const typed = await promptHidden(`Password for ${options.stashPath}: `)
    if (typed !== undefined) return typed
  }
  throw new SSError(
    `no password for ${options.stashPath}: set SSTASH_PASSWORD_FILE or SSTASH_ASKPASS, or run from a terminal`,
    'NO_PASSWORD',
  )
}

/**
 * Opens a stash with the password from the first source that has one.
 * @throws {SSError} STASH_NOT_FOUND (unless options.create), NO_PASSWORD; {@link SSCryptoError}
 */
export async function openStash(stashPath: string, options: PasswordOptions & OpenOptions = { stashPath: '' }): Promise<SecureStash> {
  const password = await getPassword({ ...options, stashPath })
  return SecureStash.open(stashPath, password, { create: false, ...options })
}
