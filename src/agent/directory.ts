/**
 * The agent directory (see agentDir in ../locations.ts): the one place the agent's socket
 * lives, so the one thing that decides whether a socket there can be trusted.
 *
 * The rule: a real directory (not a symlink), owned by this user, mode exactly 0700, in a
 * parent that no other user can rename it in (owned by this user or root, and not writable by
 * others unless sticky, as /tmp). Anything else could let another user pose as the agent, and
 * read the keys and values clients send it. Such a directory means "no agent": clients warn
 * once and use the other password sources; only `sstash unlock` and `sstash agent status`,
 * which are about the agent, fail, saying what to do.
 *
 * On every client's path: synchronous lstat calls only, no thread pool.
 */
import { chmodSync, lstatSync, mkdirSync, statSync, type Stats } from 'node:fs'
import { dirname, join } from 'node:path'
import { SSError, errno, ioError } from '../errors.js'
import { SOCKET_NAME, agentDir } from '../locations.js'
import { PRIVATE_DIRECTORY, STASH_DIRECTORY, directoryProblem } from '../fs/directory.js'

type Env = Record<string, string | undefined>

const AGAIN = 'then run `sstash unlock` again'
const ELSEWHERE = 'set XDG_RUNTIME_DIR to a directory only you can write'

/**
 * What is wrong with the agent directory and what to do about it, or undefined when it is safe:
 * the directory under the private policy, its parent under the stash directories' one.
 */
function problemWith(dir: string, info: Stats): { why: string; hint: string } | undefined {
  const why = directoryProblem(info, PRIVATE_DIRECTORY)
  if (why !== undefined) {
    const hint = !info.isDirectory() || info.isSymbolicLink()
      ? `remove it (\`rm ${dir}\`), ${AGAIN}`
      : info.uid !== process.getuid?.()
        ? `another user made it; ask them or root to remove it, or ${ELSEWHERE}`
        : `\`chmod 700 ${dir}\` (or remove it), ${AGAIN}`
    return { why, hint }
  }
  const parent = dirname(dir)
  let above: Stats
  try {
    above = statSync(parent)
  } catch (error) {
    return { why: ioError('check', parent, error).message, hint: ELSEWHERE }
  }
  const parentWhy = directoryProblem(above, STASH_DIRECTORY)
  if (parentWhy !== undefined) return { why: `its parent ${parent}: ${parentWhy}`, hint: (above.mode & 0o002) !== 0 ? `\`chmod o-w ${parent}\`, or ${ELSEWHERE}` : ELSEWHERE }
  return undefined
}

const unsafe = (dir: string, { why, hint }: { why: string; hint: string }): SSError =>
  new SSError(`refusing the agent directory ${dir}: ${why}`, 'AGENT_UNSAFE', { hint })

/**
 * Checks the agent directory with lstat.
 * @returns false when the directory does not exist, true when it is safe
 * @throws {SSError} AGENT_UNSAFE (with a hint) when it exists but is not safe, or cannot be checked
 */
function checkAgentDir(dir: string): boolean {
  let info: Stats
  try {
    info = lstatSync(dir)
  } catch (error) {
    if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return false
    throw unsafe(dir, { why: ioError('check', dir, error).message, hint: ELSEWHERE })
  }
  const problem = problemWith(dir, info)
  if (problem !== undefined) throw unsafe(dir, problem)
  return true
}

/**
 * Creates the agent directory (0700, with its missing parents) when missing, then checks it.
 * @throws {SSError} AGENT_UNSAFE; IO_ERROR when it cannot be created
 */
export function ensureAgentDir(dir: string): void {
  if (checkAgentDir(dir)) return
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    // The umask may have taken bits away; the mode must be exactly 0700 for the check.
    chmodSync(dir, 0o700)
  } catch (error) {
    if (errno(error) !== 'EEXIST') throw ioError('create the agent directory', dir, error)
  }
  if (!checkAgentDir(dir)) throw new SSError(`the agent directory ${dir} disappeared`, 'IO_ERROR')
}

let warned = false

/**
 * The agent's socket path when its directory is safe and holds a socket file. An unsafe
 * directory means no agent: one `sstash: warning:` line on stderr, once per process.
 * @param strict - throw AGENT_UNSAFE instead of warning (for the commands that are about the agent)
 * @returns undefined when there is no (usable) agent directory or no socket in it
 */
export function agentSocket(env: Env = process.env, strict = false): string | undefined {
  const dir = agentDir(env)
  try {
    if (!checkAgentDir(dir)) return undefined
  } catch (error) {
    if (strict || !(error instanceof SSError)) throw error
    if (!warned) process.stderr.write(`sstash: warning: not using the agent: ${error.message}\n`)
    warned = true
    return undefined
  }
  const socketPath = join(dir, SOCKET_NAME)
  try {
    // bigint, so that the socket's mode is not left in the stat array fs shares: Node 20's
    // realpathSync stops at a cached path when the last plain stat was a socket, so the module
    // loader would resolve a package behind a symlink (pnpm, a linked node_modules) by two
    // URLs, and the cipher module loaded next (tweetnacl) would come out empty.
    lstatSync(socketPath, { bigint: true })
  } catch {
    return undefined
  }
  return socketPath
}
