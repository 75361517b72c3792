/**
 * The one directory-safety rule, with its policy as a parameter. {@link directoryProblem} is
 * pure (it looks at stats the caller took), so the agent, the stash's writes and doctor share
 * it without loading anything.
 */
import { statSync } from 'node:fs'
import { SSError, ioError } from '../errors.js'

/** How strict {@link directoryProblem} is. */
export interface DirectoryPolicy {
  /** Whether root may own it too (a system directory such as /tmp), besides this user. */
  rootMayOwn: boolean
  /**
   * The exact permission bits required, or undefined: then only "no one else may write there"
   * holds, where a world-writable directory with the sticky bit (/tmp) counts as safe, and so
   * does a group-writable one (with per-user groups, umask 002, the group is the user alone).
   */
  mode?: number
}

/** Where a stash is written: whoever can rename files there can swap the stash or take its lock. */
export const STASH_DIRECTORY: DirectoryPolicy = { rootMayOwn: true }

/** A directory only this user may enter: the agent's, which holds its socket. */
export const PRIVATE_DIRECTORY: DirectoryPolicy = { rootMayOwn: false, mode: 0o700 }

/** The fields of fs.Stats (from stat, or lstat to see a symlink) that the rule needs. */
export interface DirectoryStats {
  uid: number
  mode: number
  isDirectory(): boolean
  isSymbolicLink(): boolean
}

const octal = (mode: number): string => (mode & 0o7777).toString(8)

/**
 * Why a directory is not safe under `policy`, or undefined when it is.
 * @param info - the directory's stats; from lstat, a symlink is a problem
 * @param policy - {@link STASH_DIRECTORY} or {@link PRIVATE_DIRECTORY}
 * @param uid - this user (default: the process's uid; on Windows there is none, and only the type is checked)
 * @returns a reason in words, such as `it belongs to another user (uid 1001)`
 */
export function directoryProblem(info: DirectoryStats, policy: DirectoryPolicy, uid = process.getuid?.()): string | undefined {
  if (info.isSymbolicLink()) return 'it is a symbolic link'
  if (!info.isDirectory()) return 'it is not a directory'
  if (uid !== undefined && info.uid !== uid && !(policy.rootMayOwn && info.uid === 0))
    return `it belongs to another user (uid ${info.uid})`
  if (policy.mode !== undefined) {
    if ((info.mode & 0o7777) !== policy.mode) return `its mode is ${octal(info.mode).padStart(4, '0')}, not ${octal(policy.mode).padStart(4, '0')}`
  } else if ((info.mode & 0o002) !== 0 && (info.mode & 0o1000) === 0) {
    return `anyone can write there (mode ${octal(info.mode)})`
  }
  return undefined
}

/**
 * Refuses a directory that another user could write to (the rule of {@link STASH_DIRECTORY}):
 * whoever can rename files in it can swap the stash for an older copy or take its lock.
 * @throws {SSError} UNSAFE_DIRECTORY; WRITE_FAILED when it cannot be looked at
 */
export function checkStashDirectory(dir: string): void {
  let info
  try {
    info = statSync(dir)
  } catch (error) {
    throw ioError('write in', dir, error, 'WRITE_FAILED')
  }
  const problem = directoryProblem(info, STASH_DIRECTORY)
  if (problem !== undefined) throw new SSError(`refusing to write in ${dir}: ${problem}`, 'UNSAFE_DIRECTORY')
}
