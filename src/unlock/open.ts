/**
 * Unlocking: where a binary gets the stash key or password from, in this order:
 *   1. the sstash agent, when it holds this stash unlocked (openStash only: no password at all)
 *   2. SSTASH_PASSWORD_FILE (a file holding the password; one trailing newline is dropped),
 *      then SSTASH_PASSWORD (for CI; weaker: the environment is visible to the user's processes)
 *   3. SSTASH_ASKPASS (a program that prints the password, as SSH_ASKPASS does)
 *   4. a hidden prompt on /dev/tty, when there is a terminal and prompting is allowed
 *   5. otherwise an SSError NO_PASSWORD at once: nothing ever waits for input that cannot come
 * Never stdin or stdout: those belong to git, or to the program sstash-run starts.
 *
 * With SSTASH_AGENT_TIMEOUT set (such as `15m`), a password that came from the prompt or
 * SSTASH_ASKPASS also unlocks the stash in the agent for that long, as git's
 * `credential.helper cache` does.
 *
 * This module is on every binary's fast path: it loads no CLI library, no child_process, and
 * no cipher or key derivation (stash.js, format.js) until a source needs them. A read through
 * the agent ({@link readStash}) needs none of them at all.
 */
import { lstatSync, readFileSync } from 'node:fs'
import { SSCryptoError, SSError, ioError } from '../errors.js'
import type { SecureStash, OpenOptions } from '../store/secure-stash.js'
import { checkKey, checkValue, type Tree } from '../tree/tree.js'
import { promptHidden } from './tty.js'
import { readIfExists, resolveStashPath } from '../store/read.js'
import { isTeamStashFile } from '../team/detect.js'
import { agentGetKey, agentReadTree, agentSocket, agentUnlock, agentWriteValues, parseDuration } from '../agent/client.js'

type Env = Record<string, string | undefined>

/** What {@link getPassword} may use. */
export interface PasswordOptions {
  /** The stash the password is for, shown in the prompt. */
  stashPath: string
  /** Allow the /dev/tty prompt (default true). The git helper passes false when GIT_TERMINAL_PROMPT=0. */
  prompt?: boolean
  /** The environment to read SSTASH_* from (default process.env). */
  env?: Env
  /** {@link openStash} only: ask the agent first (default true). `sstash unlock` passes false. */
  agent?: boolean
}

/** Where a password came from: only interactive sources are worth caching in the agent. */
type PasswordSource = 'file' | 'env' | 'askpass' | 'prompt'

const dropNewline = (text: string): string => text.replace(/\r?\n$/, '')

/**
 * The password from the non-interactive sources (2 and 3), or undefined when none is set.
 * @throws {SSError} NO_PASSWORD when a source is set but fails (unreadable file, askpass failed)
 */
export async function passwordFromEnvironment(stashPath: string, env: Env = process.env): Promise<string | undefined> {
  return (await sourcedFromEnvironment(stashPath, env))?.password
}

async function sourcedFromEnvironment(stashPath: string, env: Env): Promise<{ password: string; source: PasswordSource } | undefined> {
  const file = env.SSTASH_PASSWORD_FILE
  if (file) {
    try {
      return { password: dropNewline(readFileSync(file, 'utf8')), source: 'file' }
    } catch (error) {
      throw ioError('read SSTASH_PASSWORD_FILE', file, error, 'NO_PASSWORD')
    }
  }
  if (env.SSTASH_PASSWORD !== undefined && env.SSTASH_PASSWORD !== '') return { password: env.SSTASH_PASSWORD, source: 'env' }
  const askpass = env.SSTASH_ASKPASS
  if (askpass) {
    const { execFile } = await import('node:child_process')
    return new Promise((resolve, reject) => {
      execFile(askpass, [`Password for ${stashPath}: `], { encoding: 'utf8', timeout: 5 * 60_000 }, (error, stdout) => {
        if (error) reject(new SSError(`SSTASH_ASKPASS program ${askpass} failed`, 'NO_PASSWORD', { cause: error }))
        else resolve({ password: dropNewline(stdout), source: 'askpass' })
      })
    })
  }
  return undefined
}

/**
 * The stash password from the first source that has one (sources 2 to 5: never the agent,
 * which holds keys, not passwords).
 * @throws {SSError} NO_PASSWORD when there is none, or the prompt was cancelled
 */
export async function getPassword(options: PasswordOptions): Promise<string> {
  return (await sourcedPassword(options)).password
}

async function sourcedPassword(options: PasswordOptions): Promise<{ password: string; source: PasswordSource }> {
  const fromEnv = await sourcedFromEnvironment(options.stashPath, options.env ?? process.env)
  if (fromEnv !== undefined) return fromEnv
  if (options.prompt !== false) {
    const typed = await promptHidden(`Password for ${options.stashPath}: `)
    if (typed !== undefined) return { password: typed, source: 'prompt' }
  }
  throw new SSError(
    `no password for ${options.stashPath}: set SSTASH_PASSWORD_FILE or SSTASH_ASKPASS, or run from a terminal`,
    'NO_PASSWORD',
  )
}

/**
 * Opens a stash with the key the agent holds for it, when it holds one for the file as it
 * is now (same real path, same key id). One small request; no key derivation.
 * @returns undefined when the agent is not running, does not hold it, or holds a stale key
 * @throws {SSError} AGENT_UNSAFE when the agent directory is not safe
 */
export async function openWithAgent(stashPath: string, env: Env = process.env): Promise<SecureStash | undefined> {
  // No agent runs: nothing to ask, and no need to read the file for its key id.
  if (!agentSocket(env)) return undefined
  const real = resolveStashPath(stashPath)
  const [{ parseStash }, { SecureStash }] = await Promise.all([import('../format/stash-file.js'), import('../store/secure-stash.js')])
  const bytes = readIfExists(real)
  if (bytes === undefined) return undefined
  let keyId: string
  try {
    keyId = parseStash(bytes, stashPath).keyId
  } catch {
    // A damaged file gets its error from the ordinary path, with the ordinary message.
    return undefined
  }
  const key = await agentGetKey(real, keyId, env)
  if (!key) return undefined
  try {
    return await SecureStash.openWithKey(real, { keyId, key })
  } catch (error) {
    // The file changed between the two reads (a password change): the other sources remain.
    if (error instanceof SSCryptoError) return undefined
    throw error
  }
}

/**
 * The agent timeout asked for by SSTASH_AGENT_TIMEOUT, in ms, or undefined when unset.
 * @throws {SSError} BAD_DURATION
 */
export function agentTimeoutFromEnv(env: Env = process.env): number | undefined {
  const text = env.SSTASH_AGENT_TIMEOUT
  if (text === undefined || text === '') return undefined
  try {
    return parseDuration(text)
  } catch (error) {
    throw new SSError(`SSTASH_AGENT_TIMEOUT: ${(error as Error).message}`, 'BAD_DURATION', { cause: error })
  }
}

/**
 * Fails when no stash is at `stashPath`: every command checks this before asking for a
 * password, so nobody types one for a stash that is not there.
 * @throws {SSError} STASH_NOT_FOUND
 */
export function requireStash(stashPath: string): void {
  // lstat: a dangling symlink exists, and gets its own error when it is opened.
  try {
    lstatSync(stashPath)
  } catch {
    throw new SSError(`no stash at ${stashPath}`, 'STASH_NOT_FOUND')
  }
}

/**
 * Opens a stash with the key or password from the first source that has one: the agent
 * (unless `options.agent` is false), then the password sources of {@link getPassword}.
 * With SSTASH_AGENT_TIMEOUT set, a password typed at the prompt or given by SSTASH_ASKPASS
 * also unlocks the stash in the agent (best effort: an agent failure does not fail the open).
 * @throws {SSError} STASH_NOT_FOUND (unless options.create), NO_PASSWORD, AGENT_UNSAFE, BAD_DURATION; {@link SSCryptoError}
 */
export async function openStash(stashPath: string, options: PasswordOptions & OpenOptions = { stashPath: '' }): Promise<SecureStash> {
  const env = options.env ?? process.env
  if (options.create !== true) requireStash(stashPath)
  // A team stash opens with the member's identity (src/team), not with a password.
  if (isTeamStashFile(stashPath)) return (await import('../team/open-team.js')).openTeamStash(stashPath, env) as Promise<unknown> as Promise<SecureStash>
  if (options.agent !== false) {
    const unlocked = await openWithAgent(stashPath, env)
    if (unlocked) return unlocked
  }
  // Checked before any prompt, so a typo does not cost the user a typed password.
  const cacheFor = agentTimeoutFromEnv(env)
  const { password, source } = await sourcedPassword({ ...options, stashPath })
  const { SecureStash } = await import('../store/secure-stash.js')
  const stash = await SecureStash.open(stashPath, password, { create: false, ...options })
  if (cacheFor !== undefined && (source === 'prompt' || source === 'askpass')) {
    try {
      await agentUnlock(stash.path, await stash.exportKey(), cacheFor, env)
    } catch {
      // Caching is a convenience: the stash is open, the command goes on without it.
    }
  }
  return stash
}

/**
 * Reads the subtrees at `keys` (`[[]]` for everything) for a command that only reads. When
 * the agent holds the stash, it decrypts and sends just those subtrees: this process derives
 * nothing and loads no cipher. Otherwise the stash is opened as {@link openStash} does.
 * @returns a tree holding at least the subtrees asked for
 * @throws as {@link openStash}
 */
export async function readStash(stashPath: string, keys: string[][], options: PasswordOptions & OpenOptions): Promise<Tree> {
  if (isTeamStashFile(stashPath)) return (await import('../team/open-team.js')).readTeamStash(stashPath, keys, options.env ?? process.env)
  if (options.agent !== false) {
    const tree = await agentReadTree(resolveStashPath(stashPath), keys, options.env ?? process.env)
    if (tree) return tree
  }
  // The agent may still hold the key (a file it could not read for us gets its error here).
  const stash = await openStash(stashPath, options)
  return stash.view((tree) => tree)
}

/**
 * Stores `values` in one write. When the agent holds the stash, it writes them (through the
 * stash's lock and an atomic replace, like any write) and this process loads no cipher.
 * Otherwise the stash is opened as {@link openStash} does.
 * @throws as {@link openStash}, and as {@link SecureStash.update}
 */
export async function writeValues(stashPath: string, values: [string[], Uint8Array][], options: PasswordOptions & OpenOptions): Promise<void> {
  for (const [key, value] of values) {
    checkKey(key)
    checkValue(value)
  }
  if (options.agent !== false && (await agentWriteValues(resolveStashPath(stashPath), values, options.env ?? process.env))) return
  // A write too large for one request still uses the key the agent holds.
  const stash = await openStash(stashPath, options)
  await stash.update((tree) => {
    for (const [key, value] of values) tree.write(key, value)
  })
}
