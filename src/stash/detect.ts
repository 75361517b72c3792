/**
 * What a stash file is, found once: the one function of the three formats (sstash's own, the
 * Python package's, a team's) that every opening starts with. It reads the file once and hands
 * on its bytes and identity, so that the opening step picks the key source from it and nothing
 * below reads or resolves the path again. It knows each format by how it starts only, and loads
 * no format code: a personal stash never loads the team code, a read through the agent no cipher.
 */
import { SSError } from '../errors.js'
import { READ_LIMITS, identityOf, readFileChecked, resolveStashPath } from '../fs/read.js'

/** The three kinds of stash file. */
export type StashKind = 'native' | 'python' | 'team'

/** A stash file as {@link detectStash} found it. */
export interface StashFile {
  /** The path as the user gave it (messages name it; the team stash's memory knows it). */
  given: string
  /** The real path: symbolic links followed, so that writes replace the target. */
  real: string
  /** The file's bytes and {@link identityOf}, or undefined when no file is there. */
  read: { bytes: Uint8Array; identity: string } | undefined
  /** Its format, by how it starts; undefined when it is missing or starts as none of them (its parser names what is wrong). */
  kind: StashKind | undefined
}

const TEAM = 'sstash-team/'
const NATIVE = 'sstash/'

/** True when the bytes start with the team stash magic (any version). */
export function isTeamStash(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, TEAM.length)).toString('latin1') === TEAM
}

/** The format `bytes` start as: team, native (any version: its parser names one it cannot read), Python's JSON. */
export function kindOf(bytes: Uint8Array): StashKind | undefined {
  if (isTeamStash(bytes)) return 'team'
  if (Buffer.from(bytes.subarray(0, NATIVE.length)).toString('latin1') === NATIVE) return 'native'
  const first = bytes.find((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)
  return first === 0x7b ? 'python' : undefined
}

/**
 * Reads the stash file at `path` once and says what it is.
 * @throws {SSError} DANGLING_LINK, NOT_A_FILE, FILE_TOO_LARGE, IO_ERROR
 */
export function detectStash(path: string): StashFile {
  const real = resolveStashPath(path)
  const file = readFileChecked(real, { maxBytes: READ_LIMITS.stash })
  if (file === undefined) return { given: path, real, read: undefined, kind: undefined }
  return { given: path, real, read: { bytes: file.bytes, identity: identityOf(file.stats) }, kind: kindOf(file.bytes) }
}

/**
 * The bytes of a stash that must exist.
 * @throws {SSError} STASH_NOT_FOUND
 */
export function stashBytes(found: StashFile): Uint8Array {
  if (found.read === undefined) throw new SSError(`${found.given} does not exist`, 'STASH_NOT_FOUND')
  return found.read.bytes
}
