/**
 * Where sstash keeps things by default. On Linux (and any system but macOS) it follows
 * the XDG base directory conventions; on macOS it uses ~/Library/Application Support.
 *
 *   stash:   $SSTASH_FILE, else $XDG_DATA_HOME/sstash/stash.sstash (~/.local/share/sstash/stash.sstash)
 *   config:  $XDG_CONFIG_HOME/sstash (~/.config/sstash)
 */
import { readlinkSync, realpathSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { SSError } from './errors.js'

type Env = Record<string, string | undefined>

const isMac = process.platform === 'darwin'

function xdg(env: Env, variable: string, fallback: string[], mac: string[]): string {
  const set = env[variable]
  if (set && set.startsWith('/')) return join(set, 'sstash')
  return join(homedir(), ...(isMac ? mac : fallback), 'sstash')
}

/** The directory holding the default stash. */
export function dataDir(env: Env = process.env): string {
  return xdg(env, 'XDG_DATA_HOME', ['.local', 'share'], ['Library', 'Application Support'])
}

/** The directory holding sstash's configuration files (git mapping rules, agent settings). */
export function configDir(env: Env = process.env): string {
  return xdg(env, 'XDG_CONFIG_HOME', ['.config'], ['Library', 'Application Support'])
}

/** The stash a command uses: `--stash`, else `$SSTASH_FILE`, else the default under {@link dataDir}. */
export function stashPath(option: string | undefined, env: Env = process.env): string {
  if (option) return option
  if (env.SSTASH_FILE) return env.SSTASH_FILE
  return join(dataDir(env), 'stash.sstash')
}

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code

/**
 * The real path a stash lives at: symlinks are followed, so writes replace the target
 * and keep the link. A missing file resolves through its directory. Synchronous, as every
 * call on a binary's read path: a command does one thing at a time, and no libuv thread
 * pool or node:fs/promises is started for two system calls.
 * @throws {SSError} DANGLING_LINK for a link to nothing; IO_ERROR
 */
export function resolveStashPath(path: string): string {
  const failed = (error: unknown): SSError =>
    new SSError(`cannot resolve ${path}: ${errno(error) ?? (error as Error).message}`, 'IO_ERROR', { cause: error })
  try {
    return realpathSync(path)
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw failed(error)
  }
  // A dangling link: writing "through" it would replace the link itself (or, with create,
  // loop forever between "missing" and "exists"); refuse rather than guess.
  let target: string | undefined
  try {
    target = readlinkSync(path)
  } catch {
    target = undefined
  }
  if (target !== undefined) throw new SSError(`${path} is a symbolic link to ${target}, which does not exist`, 'DANGLING_LINK')
  try {
    return join(realpathSync(dirname(path)), basename(path))
  } catch (error) {
    if (errno(error) === 'ENOENT') return path
    throw failed(error)
  }
}
