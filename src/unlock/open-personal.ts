/**
 * Opening a personal stash, the kind a password opens (./open.ts opens either kind): the sstash
 * agent first, when it holds this stash unlocked (no password at all), then the password
 * sources of ./password.ts, with the enrolled sources of ./enrolled.ts (an ssh-agent key, the
 * OS keyring) after SSTASH_PASSWORD(_FILE) and before SSTASH_ASKPASS and the prompt.
 *
 * A password a person gave (typed at the terminal, or from SSTASH_ASKPASS) also unlocks the
 * stash in the agent, for SSTASH_AGENT_TIMEOUT (default 15 minutes; `0` or `off` turns this
 * off), as git's `credential.helper cache` does: git's `get` then `store` ask once. A password
 * from SSTASH_PASSWORD(_FILE) is not cached: it is at hand next time anyway.
 *
 * This module is on every binary's fast path: it loads no CLI library, no child_process, and
 * no cipher or key derivation (secure-stash.js, format/) until a source needs them, nor the
 * password sources until the agent could not help. A read through the agent ({@link readPersonalStash})
 * needs none of them at all.
 */
import { lstatSync } from 'node:fs'
import { SSCryptoError, SSError, errno, ioError } from '../errors.js'
import type { SecureStash, OpenOptions } from '../store/secure-stash.js'
import { Tree } from '../tree/tree.js'
import { detectStash, type StashFile } from '../stash/detect.js'
import { teamHasNoPassword } from '../team/detect.js'
import { agentGetKey, agentRead, agentStatus, agentUnlock } from '../agent/client.js'
import type { AgentSaid } from '../agent/request.js'
import { agentSocket } from '../agent/directory.js'
import { parseDuration, DEFAULT_AGENT_TIMEOUT_MS } from '../agent/duration.js'
import type { AgentEntry } from '../agent/protocol.js'
import type { PasswordOptions, PasswordSource, SourcedPassword } from './password.js'

type Env = Record<string, string | undefined>

/** What {@link openStash}, {@link readStash} and {@link writeValues} may use. */
export interface OpenStashOptions extends PasswordOptions, OpenOptions {
  /** Ask the agent first (default true). `sstash unlock` passes false. */
  agent?: boolean
  /**
   * False when the agent did not answer in time earlier in this run (AgentSaid): nothing is
   * sent to it, not even the key of a stash opened with a typed password.
   */
  answered?: false
}

/** How many passwords typed at the terminal are tried before giving up, as sudo and ssh allow. */
export const PASSWORD_TRIES = 3

/**
 * Opens a stash with the key the agent holds for it, when it holds one for the file as it
 * is now (same real path, same key id). One small request; no key derivation.
 * @returns undefined when the agent is not running, does not hold it, or holds a stale key
 *   (or its directory is unsafe: see agentSocket)
 */
export async function openWithAgent(stashPath: string, env: Env = process.env): Promise<SecureStash | undefined> {
  // No agent runs: nothing to ask, and no need to read the file for its key id.
  return agentSocket(env) ? agentOpen(detectStash(stashPath), env) : undefined
}

// The file was read before the imports: Node 20 imports tweetnacl as an empty module when the
// last fs stat of the process was of a socket (the agent's), and reading stats the stash file.
async function agentOpen(found: StashFile, env: Env): Promise<SecureStash | undefined> {
  if (found.read === undefined || !agentSocket(env)) return undefined
  const { parseStash } = await import('../format/stash-file.js')
  const { SecureStash } = await import('../store/secure-stash.js')
  let keyId: string
  try {
    keyId = parseStash(found.read.bytes, found.given).keyId
  } catch {
    // A damaged file gets its error from the ordinary path, with the ordinary message.
    return undefined
  }
  const key = await agentGetKey(found.real, keyId, env)
  if (!key) return undefined
  try {
    return await SecureStash.openDetected(found, { key: { keyId, key } }, { create: false })
  } catch (error) {
    // A key the agent holds that does not open these bytes: the other sources remain.
    if (error instanceof SSCryptoError) return undefined
    throw error
  }
}

/**
 * How long a password a person gave unlocks the agent: SSTASH_AGENT_TIMEOUT (`90s`, `15m`,
 * `2h`...), else 15 minutes.
 * @returns milliseconds, or undefined when SSTASH_AGENT_TIMEOUT is `0` or `off`
 * @throws {SSError} BAD_DURATION
 */
export function agentTimeoutFromEnv(env: Env = process.env): number | undefined {
  const text = env.SSTASH_AGENT_TIMEOUT?.trim()
  if (text === undefined || text === '') return DEFAULT_AGENT_TIMEOUT_MS
  if (text === '0' || text === 'off') return undefined
  try {
    return parseDuration(text)
  } catch (error) {
    throw new SSError(`SSTASH_AGENT_TIMEOUT: ${(error as Error).message}`, 'BAD_DURATION', {
      cause: error,
      hint: 'use a duration such as 15m or 2h, or 0 to keep typed passwords out of the agent',
    })
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
  } catch (error) {
    // A stash we may not look at is there, or may be: say so, not "no stash".
    if (errno(error) !== 'ENOENT' && errno(error) !== 'ENOTDIR') throw ioError('read', stashPath, error)
    throw new SSError(`no stash at ${stashPath}`, 'STASH_NOT_FOUND')
  }
}

/** Fails when {@link detectStash} found no file, as {@link requireStash} does. @throws {SSError} STASH_NOT_FOUND */
function requireFound(found: StashFile): void {
  if (found.read === undefined) throw new SSError(`no stash at ${found.given}`, 'STASH_NOT_FOUND')
}

/** Checks the file's outer format, so that a file that is not a stash is named before any prompt. */
async function checkStashFile(found: StashFile): Promise<void> {
  if (found.read === undefined) return
  if (found.kind === 'team') throw teamHasNoPassword(found.given)
  const { parseStash } = await import('../format/stash-file.js')
  parseStash(found.read.bytes, found.given)
}

/** What {@link openWithPassword} returns: the stash, and the password that opened it. */
export interface OpenedWithPassword extends SourcedPassword {
  stash: SecureStash
}

/**
 * Opens a stash with a password from the sources of ./password.ts (never the agent). A wrong
 * password typed at the terminal is asked again, {@link PASSWORD_TRIES} times in all.
 * @param tried - the enrolled sources tried before, each with why it did not open the stash: named in NO_PASSWORD
 * @throws {SSError} NOT_A_STASH (before any prompt), NO_PASSWORD; {@link SSCryptoError}
 */
export async function openWithPassword(stashPath: string, options: PasswordOptions & OpenOptions = {}, tried: readonly string[] = []): Promise<OpenedWithPassword> {
  return passwordOpen(detectStash(stashPath), options, tried)
}

async function passwordOpen(found: StashFile, options: PasswordOptions & OpenOptions, tried: readonly string[]): Promise<OpenedWithPassword> {
  await checkStashFile(found)
  const [{ readPassword }, { SecureStash }] = await Promise.all([import('./password.js'), import('../store/secure-stash.js')])
  for (let attempt = 1; ; attempt++) {
    const { password, source } = await readPassword(found.given, options, attempt > 1, tried)
    try {
      return { stash: await SecureStash.openDetected(found, { password }, { create: false, ...options }), password, source }
    } catch (error) {
      const wrong = error instanceof SSCryptoError && error.code === 'DECRYPT_FAILED'
      if (!wrong || source !== 'prompt' || attempt >= PASSWORD_TRIES) throw error
    }
  }
}

/** Only what a person gave is cached: a variable's password is at hand next time anyway. */
const typedBy = (source: PasswordSource): boolean => source === 'prompt' || source === 'askpass'

/** Hands the stash's key, as the file is now, to the agent. Best effort: the agent is a convenience. */
async function giveAgent(stash: SecureStash, timeoutMs: number, env: Env): Promise<void> {
  try {
    await agentUnlock(stash.path, await stash.exportKey(), timeoutMs, env)
  } catch {
    // The stash is open (and changed, if asked); the next command asks for the password instead.
  }
}

/**
 * After a new stash or a password change: hands the stash's key to the agent, for the time the
 * agent had left when it already held this stash (its old key no longer fits), else for
 * {@link agentTimeoutFromEnv} when the password came from a person. A failure here fails nothing;
 * callers check SSTASH_AGENT_TIMEOUT with {@link agentTimeoutFromEnv} before they ask for a password.
 * @param source - where the stash's (new) password came from
 */
export async function shareWithAgent(stash: SecureStash, source: PasswordSource, env: Env = process.env): Promise<void> {
  let held: AgentEntry | undefined
  try {
    held = agentSocket(env) ? (await agentStatus(env))?.entries.find((entry) => entry.path === stash.path) : undefined
  } catch {
    // An unsafe or broken agent holds nothing we could replace.
  }
  const timeoutMs = held ? Math.max(held.expiresAt - Date.now(), 1_000) : typedBy(source) ? agentTimeoutFromEnv(env) : undefined
  if (timeoutMs !== undefined) await giveAgent(stash, timeoutMs, env)
}

/**
 * Opens a personal stash, the kind a password opens, as {@link openStash} does; a team stash is
 * refused before any prompt. For the commands about passwords, and the identity's own stash.
 * @throws as {@link openStash}; {@link SSError} USAGE for a team stash
 */
export async function openPersonalStash(stashPath: string, options: OpenStashOptions = {}): Promise<SecureStash> {
  return openPersonal(detectStash(stashPath), options)
}

/**
 * Opens the personal stash {@link detectStash} found, from the first key source that has its
 * key: the agent, the enrolled sources, the password sources.
 * @throws as {@link openPersonalStash}
 */
export async function openPersonal(found: StashFile, options: OpenStashOptions = {}): Promise<SecureStash> {
  const env = options.env ?? process.env
  if (options.create !== true) requireFound(found)
  if (found.kind === 'team') throw teamHasNoPassword(found.given)
  if (options.agent !== false) {
    const unlocked = await agentOpen(found, env)
    if (unlocked) return unlocked
  }
  // Checked before any prompt, so a typo does not cost the user a typed password.
  const cacheFor = agentTimeoutFromEnv(env)
  // Enrolled sources (an ssh-agent key, the OS keyring) come after a password given in a
  // variable, which is a choice made for this run, and before SSTASH_ASKPASS and the prompt.
  let tried: string[] = []
  if (!env.SSTASH_PASSWORD_FILE && !env.SSTASH_PASSWORD) {
    const enrolled = await (await import('./enrolled.js')).openWithEnrolled(found, env)
    if ('stash' in enrolled) return enrolled.stash
    tried = enrolled.tried
  }
  const { stash, source } = await passwordOpen(found, options, tried)
  if (cacheFor !== undefined && typedBy(source) && options.answered !== false) await giveAgent(stash, cacheFor, env)
  return stash
}

/**
 * Reads the subtrees at `keys` of a personal stash, as {@link readStash} does for one: through
 * the agent when it holds the stash, else opened as {@link openPersonalStash} does.
 * @returns a tree holding at least the subtrees asked for
 * @throws as {@link openPersonalStash}
 */
export async function readPersonalStash(stashPath: string, keys: string[][], options: OpenStashOptions = {}): Promise<Tree> {
  return readPersonal(detectStash(stashPath), keys, options)
}

/** {@link readPersonalStash} of the stash {@link detectStash} found. */
export async function readPersonal(found: StashFile, keys: string[][], options: OpenStashOptions = {}): Promise<Tree> {
  if (options.create !== true) requireFound(found)
  let said: AgentSaid | undefined
  if (options.agent !== false) {
    const read = await agentRead(found.real, keys, options.env ?? process.env)
    if (read instanceof Tree) return read
    said = read
  }
  // The agent may still hold the key (a file it could not read for us gets its error here),
  // unless it said it holds none for this path, or did not answer: then it is not asked again.
  const stash = await openPersonal(found, { ...options, ...said })
  return stash.view((tree) => tree)
}
