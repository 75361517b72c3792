/**
 * Writing to stdout, for every binary and for the git helper's
 * small half (./git-credential-get.ts), which loads nothing else of the CLI.
 */
import { writeSync } from 'node:fs'
import { ioError } from '../errors.js'

/**
 * Writes `data` to stdout with blocking writes, as git's own helpers do: no stream machinery
 * (and no node:net for a pipe) on the hot path. A reader that went away (EPIPE) is not an error;
 * a non-blocking stdout that is full (EAGAIN) gets the rest through process.stdout.
 */
export function writeStdout(data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data
  let offset = 0
  try {
    while (offset < bytes.length) offset += writeSync(1, bytes, offset)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EAGAIN') process.stdout.write(bytes.subarray(offset))
    else if (code !== 'EPIPE') throw ioError('write to', 'standard output', error)
  }
}
