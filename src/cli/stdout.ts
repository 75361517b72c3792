/**
 * Writing to stdout, for every binary and for the git helper's
 * small half (./git-credential-get.ts), which loads nothing else of the CLI.
 */
import { writeSync } from 'node:fs'
import { ioError } from '../errors.js'

/** Set once stdout was full: from then on every write queues behind the rest, in order. */
let queued = false

/**
 * Writes `data` to stdout with blocking writes, as git's own helpers do: no stream machinery
 * (and no node:net for a pipe) on the hot path. A reader that went away (EPIPE) is not an error;
 * a non-blocking stdout that is full (EAGAIN) gets the rest, and every later write, through
 * process.stdout, so that a caller writing in pieces keeps their order.
 */
export function writeStdout(data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data
  if (queued) {
    process.stdout.write(bytes)
    return
  }
  let offset = 0
  try {
    while (offset < bytes.length) offset += writeSync(1, bytes, offset)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EAGAIN') {
      queued = true
      process.stdout.write(bytes.subarray(offset))
    } else if (code !== 'EPIPE') throw ioError('write to', 'standard output', error)
  }
}
