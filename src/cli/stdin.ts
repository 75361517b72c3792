/** Reading stdin for every binary: bounded, blocking, with no stream machinery on the hot path. */
import { readSync } from 'node:fs'
import { SSError } from '../errors.js'
import { MAX_TREE_BYTES } from '../tree/tree.js'

/**
 * Stdin (a piped value, an `import -`, git's request), to EOF or until `complete` says the
 * chunk just read ends the input, and never more than `maxBytes` (`sstash set a < /dev/zero`
 * fails instead of filling memory). Blocking reads of fd 0, as git's own helpers do: no stream
 * machinery on the hot path. A non-blocking stdin (EAGAIN) is read through process.stdin instead.
 * @throws {SSError} FILE_TOO_LARGE past `maxBytes` (default: what a value can hold)
 */
export async function readStdin(complete: (chunk: Buffer) => boolean = () => false, maxBytes: number = MAX_TREE_BYTES): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  let total = 0
  const take = (chunk: Buffer): boolean => {
    total += chunk.length
    if (total > maxBytes) throw new SSError(`stdin is too large (more than ${maxBytes} bytes)`, 'FILE_TOO_LARGE')
    chunks.push(chunk)
    return complete(chunk)
  }
  const buffer = Buffer.allocUnsafe(64 * 1024)
  for (;;) {
    let read: number
    try {
      read = readSync(0, buffer)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EOF') break
      if (code !== 'EAGAIN') throw error
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) if (take(chunk)) break
      break
    }
    if (read === 0 || take(Buffer.from(buffer.subarray(0, read)))) break
  }
  return new Uint8Array(Buffer.concat(chunks))
}
