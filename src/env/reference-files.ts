/**
 * Reference files from disk, for sstash-run's and export's `--env-file` and package.json's
 * `"envFile"`. The parsing is pure and lives in references.ts; this is the one read.
 */
import { READ_LIMITS, readOwnFile } from '../fs/read.js'
import { parseReferenceFiles, type ReferenceFile, type ReferenceOptions } from './references.js'

/**
 * Reads and parses reference files, in order (a later file wins on the same name when merged).
 * Each must be a regular file of the user's (or root's) that nobody else can write: a FIFO
 * gives an error, not a hang, and another user's file cannot choose which secrets go where.
 * @param paths - as given (they name the files in messages)
 * @throws {SSError} IO_ERROR, NOT_A_FILE, FILE_TOO_LARGE, UNSAFE_FILE for the first file that cannot be read
 * @throws {SSReferenceError} BAD_REFERENCE listing every problem of every file at once
 */
export function readReferenceFiles(paths: readonly string[], options: ReferenceOptions = {}): ReferenceFile[] {
  return parseReferenceFiles(paths.map((file) => ({ file, text: readOwnFile(file, READ_LIMITS.references) })), options)
}
