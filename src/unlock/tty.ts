/**
 * Hidden prompts on the controlling terminal (/dev/tty), never on stdin/stdout, which may
 * belong to git or to a child program. Without a terminal there is no prompt at all.
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import { SSError } from '../errors.js'

/**
 * Asks for a secret on /dev/tty without echoing it.
 * @returns what was typed, or undefined when there is no terminal
 * @throws {SSError} CANCELLED on Ctrl-C or Ctrl-D
 */
export async function promptHidden(message: string): Promise<string | undefined> {
  let readFd: number
  let writeFd: number
  try {
    readFd = openSync('/dev/tty', 'r')
  } catch {
    return undefined
  }
  try {
    writeFd = openSync('/dev/tty', 'w')
  } catch {
    closeSync(readFd)
    return undefined
  }
  // Loaded here, not at start-up: most runs never prompt.
  const { ReadStream } = await import('node:tty')
  const input = new ReadStream(readFd)
  try {
    writeSync(writeFd, message)
    input.setRawMode(true)
    return await new Promise<string>((resolve, reject) => {
      let typed = ''
      input.on('data', (chunk: Buffer) => {
        for (const char of chunk.toString('utf8')) {
          if (char === '\r' || char === '\n') return resolve(typed)
          if (char === '\x03' || (char === '\x04' && typed === '')) return reject(new SSError('cancelled', 'CANCELLED'))
          if (char === '\x7f' || char === '\b') typed = [...typed].slice(0, -1).join('')
          else if (char === '\x15') typed = ''
          else if (char >= ' ') typed += char
        }
      })
      input.on('error', (error) => reject(new SSError('cannot read from the terminal', 'NO_PASSWORD', { cause: error })))
    })
  } finally {
    input.setRawMode(false)
    input.destroy()
    writeSync(writeFd, '\n')
    closeSync(writeFd)
  }
}
