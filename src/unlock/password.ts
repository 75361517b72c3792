/**
 * The password sources, in this order (the agent, which holds keys and not passwords, is
 * asked before these by ./open.ts):
 *   1. SSTASH_PASSWORD_FILE (a file holding the password; one trailing newline is dropped),
 *      then SSTASH_PASSWORD (for CI; weaker: the environment is visible to the user's processes)
 *   2. SSTASH_ASKPASS (a program that prints the password, as SSH_ASKPASS does)
 *   3. a hidden prompt on /dev/tty, when there is a terminal and prompting is allowed
 *   4. otherwise an SSError NO_PASSWORD at once: nothing ever waits for input that cannot come
 * Never stdin or stdout: those belong to git, or to the program sstash-run starts.
 *
 * A password is text: its UTF-8 bytes feed the key derivation, as in the Python format. Bytes
 * that are not UTF-8 are refused (see ./utf8.ts), never replaced.
 */
import { readFileSync, statSync } from 'node:fs'
import { SSError, reasonOf } from '../errors.js'
import { promptHidden } from './tty.js'
import { decodeUtf8, environmentValueIsUtf8 } from './utf8.js'
import { displayPath } from './display-path.js'

type Env = Record<string, string | undefined>

/** Where a password came from: what a person typed (`prompt`, `askpass`) is worth caching in the agent. */
export type PasswordSource = 'file' | 'env' | 'askpass' | 'prompt'

/** A password and where it came from. */
export interface SourcedPassword {
  password: string
  source: PasswordSource
}

/** What the password sources may use. */
export interface PasswordOptions {
  /** Allow the /dev/tty prompt (default true). The git helper passes false when GIT_TERMINAL_PROMPT=0. */
  prompt?: boolean
  /** The environment to read SSTASH_* from (default process.env). */
  env?: Env
  /** Receives warnings, such as a password file other users can read. Default: a `sstash: warning:` line on stderr. */
  warn?: (message: string) => void
  /**
   * Read a new password, as `sstash passwd` does: from SSTASH_NEW_PASSWORD_FILE, then
   * SSTASH_NEW_PASSWORD (never SSTASH_ASKPASS), and say "new password" in the prompt.
   */
  newPassword?: boolean
}

/** The variables that give a password, in the order they are tried. */
const PASSWORD_VARIABLES = ['SSTASH_PASSWORD_FILE', 'SSTASH_PASSWORD', 'SSTASH_ASKPASS'] as const

const printWarning = (message: string): void => {
  process.stderr.write(`sstash: warning: ${message}\n`)
}

const dropNewline = (text: string): string => text.replace(/\r?\n$/, '')

/** The password variables of {@link PASSWORD_VARIABLES} set (to something non-empty) in `env`. */
export function passwordVariablesSet(env: Env = process.env): string[] {
  return PASSWORD_VARIABLES.filter((name) => env[name] !== undefined && env[name] !== '')
}

function notText(what: string, hint: string): SSError {
  return new SSError(`${what} is not valid UTF-8 text`, 'NO_PASSWORD', { hint })
}

function fromFile(variable: string, file: string, warn: (message: string) => void): string {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    throw new SSError(`cannot read ${variable} ${file}: ${reasonOf(error)}`, 'NO_PASSWORD', {
      cause: error,
      hint: `point ${variable} at a file you can read, or unset it to be asked`,
    })
  }
  // As ssh does for a private key: say so, but go on (a pipe such as <(pass show x) has no mode to check).
  const mode = statSync(file, { throwIfNoEntry: false })
  if (mode?.isFile() && (mode.mode & 0o077) !== 0)
    warn(`${file} (${variable}) is open to other users (mode ${(mode.mode & 0o7777).toString(8).padStart(4, '0')}): run \`chmod 600 ${file}\``)
  const text = decodeUtf8(bytes)
  if (text === undefined)
    throw notText(`${variable} ${file}`, 'a password is text; to use random bytes as one, store them base64-encoded (`head -c 32 /dev/urandom | base64`)')
  return dropNewline(text)
}

/** The prompt for a stash's password: it names sstash and the stash, so nobody types a git token into it. */
export function passwordPrompt(stashPath: string, env: Env = process.env): string {
  return `sstash: password for the stash ${displayPath(stashPath, env)}: `
}

async function fromAskpass(askpass: string, prompt: string): Promise<string> {
  const { execFile } = await import('node:child_process')
  const stdout = await new Promise<Buffer>((resolve, reject) => {
    execFile(askpass, [prompt], { encoding: 'buffer', timeout: 5 * 60_000 }, (error, out) => {
      if (error)
        reject(new SSError(`SSTASH_ASKPASS program ${askpass} failed`, 'NO_PASSWORD', { cause: error, hint: 'it must print the password and exit 0' }))
      else resolve(out)
    })
  })
  const text = decodeUtf8(stdout)
  if (text === undefined) throw notText(`the output of SSTASH_ASKPASS program ${askpass}`, 'it must print the password as UTF-8 text')
  return dropNewline(text)
}

/**
 * The password from the non-interactive sources (SSTASH_PASSWORD_FILE, SSTASH_PASSWORD,
 * SSTASH_ASKPASS), or undefined when none is set.
 * @param stashPath - the stash the password is for, shown to SSTASH_ASKPASS
 * @throws {SSError} NO_PASSWORD when a source is set but fails (unreadable file, askpass failed,
 *   not UTF-8 text)
 */
export async function passwordFromEnvironment(stashPath: string, options: PasswordOptions = {}): Promise<SourcedPassword | undefined> {
  const env = options.env ?? process.env
  const [fileVariable, valueVariable] = options.newPassword ? ['SSTASH_NEW_PASSWORD_FILE', 'SSTASH_NEW_PASSWORD'] : ['SSTASH_PASSWORD_FILE', 'SSTASH_PASSWORD']
  const file = env[fileVariable]
  if (file) return { password: fromFile(fileVariable, file, options.warn ?? printWarning), source: 'file' }
  const value = env[valueVariable]
  if (value) {
    // Node has decoded the environment already; only its own environment can be checked for lost bytes.
    if (env === process.env && !environmentValueIsUtf8(valueVariable, value))
      throw notText(valueVariable, 'a password is text; to use random bytes as one, base64-encode them')
    return { password: value, source: 'env' }
  }
  if (env.SSTASH_ASKPASS && !options.newPassword) return { password: await fromAskpass(env.SSTASH_ASKPASS, passwordPrompt(stashPath, env)), source: 'askpass' }
  return undefined
}

/**
 * The password from the first source that has one, with that source.
 * @param stashPath - the stash the password is for, shown in the prompt
 * @param retry - true when the previous password typed at the terminal was wrong: the prompt says so
 * @throws {SSError} NO_PASSWORD when there is none, or the prompt was cancelled
 */
export async function readPassword(stashPath: string, options: PasswordOptions = {}, retry = false): Promise<SourcedPassword> {
  const fromEnv = retry ? undefined : await passwordFromEnvironment(stashPath, options)
  if (fromEnv !== undefined) return fromEnv
  if (options.prompt !== false) {
    const typed = await promptHidden(`${retry ? 'sstash: wrong password, try again\n' : ''}${passwordPrompt(stashPath, options.env ?? process.env)}`)
    if (typed !== undefined) return { password: typed, source: 'prompt' }
  }
  const why = options.prompt === false ? 'prompting is off' : 'there is no terminal to ask on'
  throw new SSError(`no password for ${stashPath}: ${why}, and none of ${PASSWORD_VARIABLES.join(', ')} is set`, 'NO_PASSWORD', {
    hint: 'run `sstash unlock` in a terminal first, or set one of them',
  })
}

/**
 * The stash password from the first source that has one (never the agent, which holds keys,
 * not passwords).
 * @param stashPath - the stash the password is for, shown in the prompt
 * @throws {SSError} NO_PASSWORD when there is none, or the prompt was cancelled
 */
export async function getPassword(stashPath: string, options: PasswordOptions = {}): Promise<string> {
  return (await readPassword(stashPath, options)).password
}
