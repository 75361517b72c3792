/**
 * Reading git's request from stdin, for both halves of git-credential-sstash: the small one
 * that asks the agent (./git-credential-get.ts) and the full helper (./git-credential-sstash.ts),
 * which goes on from what the small one read when it hands over. Blocking reads of fd 0, as
 * git's own helpers do; stops at the blank line, so that a caller who keeps stdin open never
 * hangs the helper. Loads nothing but node:fs.
 */
import { readSync } from 'node:fs'

/** The most request bytes read from stdin; a real request is a few hundred. */
export const MAX_INPUT_BYTES = 1 << 20

/** What {@link readRequestSync} read: the bytes, and whether stdin has nothing more to give for this request. */
export interface PendingRequest {
  bytes: Uint8Array
  /**
   * True at the blank line, at EOF, or past {@link MAX_INPUT_BYTES} (the full helper then
   * refuses it); false when a read could not go on (a non-blocking stdin, a read error): the
   * full helper reads the rest, and meets the same error, itself.
   */
  complete: boolean
}

/**
 * A scanner fed the request chunk by chunk: true once a chunk holds the blank line (LF LF or
 * LF CR LF; a request may also start with it) that ends the request.
 */
export function blankLineScanner(): (chunk: Uint8Array) => boolean {
  let previousLf = true
  return (chunk) => {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]
      if (byte === 0x0a) {
        if (previousLf) return true
        previousLf = true
      } else if (byte === 0x0d && previousLf && chunk[i + 1] === 0x0a) continue
      else previousLf = false
    }
    return false
  }
}

/** Reads git's request from fd 0 with blocking reads, to the blank line, EOF, or just past {@link MAX_INPUT_BYTES}. Never throws. */
export function readRequestSync(): PendingRequest {
  const chunks: Buffer[] = []
  const ended = blankLineScanner()
  const buffer = Buffer.allocUnsafe(64 * 1024)
  let total = 0
  for (;;) {
    let read: number
    try {
      read = readSync(0, buffer)
    } catch (error) {
      const complete = (error as NodeJS.ErrnoException).code === 'EOF'
      return { bytes: Buffer.concat(chunks, total), complete }
    }
    if (read === 0) break
    const chunk = Buffer.from(buffer.subarray(0, read))
    chunks.push(chunk)
    total += read
    if (total > MAX_INPUT_BYTES || ended(chunk)) break
  }
  return { bytes: Buffer.concat(chunks, total), complete: true }
}
