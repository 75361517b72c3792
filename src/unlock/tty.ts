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

/** How {@link promptHidden} reads what is typed. */
export interface PromptOptions {
  /**
   * Read several lines, until Ctrl-D: Enter (or a pasted line break) adds a line break, so a
   * pasted PEM key arrives whole. One line break right before Ctrl-D is dropped, as `echo` adds one.
   */
  multiline?: boolean
  /** Show what is typed (an answer such as `yes`, never a secret). */
  echo?: boolean
}

/**
 * Asks for a secret on /dev/tty without echoing it. What is typed is collected as bytes and
 * decoded once, at Enter (Ctrl-D with `multiline`), so a character split across two reads stays one character.
 * @returns what was typed, or undefined when there is no terminal
 * @throws {SSError} CANCELLED on Ctrl-C, or Ctrl-D before anything was typed (on one line); NO_PASSWORD when what was typed is not UTF-8
 */
export async function promptHidden(message: string, options: PromptOptions = {}): Promise<string | undefined> {
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
      let afterCr = false
      const enter = (): void => {
        if (options.multiline && typed.at(-1) === 0x0a) typed.pop()
        const text = decodeUtf8(new Uint8Array(typed))
        if (text === undefined) reject(new SSError('what was typed is not valid UTF-8 text; is the terminal set to UTF-8?', 'NO_PASSWORD'))
        else resolve(text)
      }
      const take = (byte: number): boolean => {
        const lf = byte === 0x0a && afterCr
        afterCr = byte === 0x0d
        if (byte === 0x0d || byte === 0x0a) {
          if (!options.multiline) return true
          // CR LF (a pasted Windows line) is one line break; the cursor moves on, the text stays hidden.
          if (!lf) {
            typed.push(0x0a)
            writeSync(writeFd, '\r\n')
          }
        } else if (byte === 0x03 || (byte === 0x04 && typed.length === 0 && !options.multiline)) throw new SSError('cancelled', 'CANCELLED')
        else if (byte === 0x04) return options.multiline === true
        else if (byte === 0x7f || byte === 0x08) dropLastCharacter(typed)
        else if (byte === 0x15) typed = []
        else if (byte >= 0x20 || (byte === 0x09 && options.multiline)) {
          typed.push(byte)
          if (options.echo) writeSync(writeFd, Buffer.of(byte))
        }
        return false
      }
      input.on('data', (chunk: Buffer) => {
        try {
          for (const byte of chunk) if (take(byte)) return enter()
        } catch (error) {
          reject(error)
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
