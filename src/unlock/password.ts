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
import { SSError } from '../errors.js'
import { READ_LIMITS, readNamedFile } from '../fs/read.js'
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

/**
 * The password in a file: a regular file, or a pipe such as `<(pass show x)`, read without
 * blocking and never past {@link READ_LIMITS}.password: /dev/zero, /dev/urandom or a directory
 * end at once with one line, and a FIFO nobody writes to reads as an empty password.
 */
function fromFile(variable: string, file: string, warn: (message: string) => void): string {
  const hint = `point ${variable} at a file you can read, or unset it to be asked`
  let read
  try {
    read = readNamedFile(file, { maxBytes: READ_LIMITS.password, allowFifo: true })
  } catch (error) {
    // "cannot read <file>: <why>" and "<file> is not a regular file", with the variable's name before the file.
    const message = (error as Error).message
    const said = message.startsWith('cannot read ') ? `cannot read ${variable} ${message.slice('cannot read '.length)}` : `${variable} ${message}`
    throw new SSError(said, 'NO_PASSWORD', { cause: error, hint })
  }
  // As ssh does for a private key: say so, but go on (a pipe has no mode to check). The mode of the very file read.
  const mode = Number(read.stats.mode)
  if (read.stats.isFile() && (mode & 0o077) !== 0)
    warn(`${file} (${variable}) is open to other users (mode ${(mode & 0o7777).toString(8).padStart(4, '0')}): run \`chmod 600 ${file}\``)
  const text = decodeUtf8(read.bytes)
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
 * @param tried - the enrolled sources tried before, each with why it did not open the stash: named in the error
 * @throws {SSError} NO_PASSWORD when there is none, or the prompt was cancelled
 */
export async function readPassword(stashPath: string, options: PasswordOptions = {}, retry = false, tried: readonly string[] = []): Promise<SourcedPassword> {
  const fromEnv = retry ? undefined : await passwordFromEnvironment(stashPath, options)
  if (fromEnv !== undefined) return fromEnv
  if (options.prompt !== false) {
    const typed = await promptHidden(`${retry ? 'sstash: wrong password, try again\n' : ''}${passwordPrompt(stashPath, options.env ?? process.env)}`)
    if (typed !== undefined) return { password: typed, source: 'prompt' }
  }
  const why = options.prompt === false ? 'prompting is off' : 'there is no terminal to ask on'
  // The enrolled sources were tried first: say which, and why each did not open it, or the user guesses.
  const enrolled = tried.length === 0 ? '' : `tried ${tried.join(' and ')}; `
  const sshKey = tried.some((t) => t.endsWith('(the ssh-agent does not hold it)')) ? ', or `ssh-add` the enrolled key' : ''
  throw new SSError(`no password for ${stashPath}: ${enrolled}${why}, and none of ${PASSWORD_VARIABLES.join(', ')} is set`, 'NO_PASSWORD', {
    hint: `run \`sstash unlock\` in a terminal first, or set one of them${sshKey}`,
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
