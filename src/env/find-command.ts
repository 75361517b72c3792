/**
 * Finds the program a command name runs, as execvp(3) and a shell do, for the execve path
 * (execve does not search PATH): a name with a `/` is a path; any other name is looked up in
 * each directory of the child's PATH in turn (an empty entry is the working directory; no
 * PATH means /bin:/usr/bin, glibc's default). The first regular file we may execute wins; a
 * match we may not execute (or a directory) is passed over, and if nothing better is found
 * the command "cannot be executed" (126) rather than "not found" (127), as with execvp.
 */
import { accessSync, constants, statSync } from 'node:fs'
import { join } from 'node:path'
import { SSError, errno, reasonOf } from '../errors.js'

const DEFAULT_PATH = '/bin:/usr/bin'
/** The longest file name a directory entry can have on Linux and macOS. */
const NAME_MAX = 255

/** A command name for messages: a 5000-character name is cut. */
export function shownCommand(command: string): string {
  return command.length > 80 ? `${command.slice(0, 77)}...` : command
}

type Verdict = 'run' | 'denied' | 'missing'

function verdict(path: string): Verdict {
  try {
    if (!statSync(path).isFile()) return 'denied'
    accessSync(path, constants.X_OK)
    return 'run'
  } catch (error) {
    const code = errno(error)
    return code === 'EACCES' || code === 'EPERM' ? 'denied' : 'missing'
  }
}

/**
 * The path of the program `command` runs.
 * @param env - the child's environment (its PATH is searched)
 * @returns an absolute path, or a path with a `/` as given
 * @throws {SSError} COMMAND_NOT_FOUND, COMMAND_NOT_EXECUTABLE, SPAWN_FAILED (a name too long)
 */
export function findCommand(command: string, env: Readonly<Record<string, string | undefined>>): string {
  const shown = shownCommand(command)
  if (command.includes('/')) {
    const found = verdict(command)
    if (found === 'run') return command
    if (found === 'denied') throw new SSError(`cannot execute ${shown}: permission denied or not a program`, 'COMMAND_NOT_EXECUTABLE')
    try {
      statSync(command)
    } catch (error) {
      if (errno(error) !== 'ENOENT' && errno(error) !== 'ENOTDIR') throw new SSError(`cannot start ${shown}: ${reasonOf(error)}`, 'SPAWN_FAILED', { cause: error })
    }
    throw new SSError(`command not found: ${shown}`, 'COMMAND_NOT_FOUND')
  }
  if (Buffer.byteLength(command) > NAME_MAX) throw new SSError(`cannot start ${shown}: the name is too long`, 'SPAWN_FAILED')
  let denied = false
  for (const dir of (env.PATH ?? DEFAULT_PATH).split(':')) {
    const path = join(dir === '' ? '.' : dir, command)
    const found = verdict(path)
    if (found === 'run') return dir === '' ? `./${command}` : path
    denied ||= found === 'denied'
  }
  if (denied) throw new SSError(`cannot execute ${shown}: permission denied or not a program`, 'COMMAND_NOT_EXECUTABLE')
  throw new SSError(`command not found: ${shown}`, 'COMMAND_NOT_FOUND')
}
