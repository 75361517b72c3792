/**
 * Hidden prompts on the controlling terminal (/dev/tty), never on stdin/stdout, which may
 * belong to git or to a child program. Without a terminal there is no prompt at all.
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import { SSError } from '../errors.js'
import { decodeUtf8 } from './utf8.js'

/** Drops the last character (a lead byte and its continuation bytes) of UTF-8 `bytes`. */
function dropLastCharacter(bytes: number[]): void {
  while (bytes.length > 0 && ((bytes.at(-1) as number) & 0xc0) === 0x80) bytes.pop()
  bytes.pop()
}

/**
 * Asks for a secret on /dev/tty without echoing it. What is typed is collected as bytes and
 * decoded once, at Enter, so a character split across two reads stays one character.
 * @returns what was typed, or undefined when there is no terminal
 * @throws {SSError} CANCELLED on Ctrl-C or Ctrl-D; NO_PASSWORD when what was typed is not UTF-8
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
      let typed: number[] = []
      const enter = (): void => {
        const text = decodeUtf8(new Uint8Array(typed))
        if (text === undefined) reject(new SSError('what was typed is not valid UTF-8 text; is the terminal set to UTF-8?', 'NO_PASSWORD'))
        else resolve(text)
      }
      input.on('data', (chunk: Buffer) => {
        for (const byte of chunk) {
          if (byte === 0x0d || byte === 0x0a) return enter()
          if (byte === 0x03 || (byte === 0x04 && typed.length === 0)) return reject(new SSError('cancelled', 'CANCELLED'))
          if (byte === 0x7f || byte === 0x08) dropLastCharacter(typed)
          else if (byte === 0x15) typed = []
          else if (byte >= 0x20) typed.push(byte)
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
