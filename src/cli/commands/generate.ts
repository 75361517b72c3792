/**
 * `sstash generate <keypath>`: stores a random token, as `pass generate` and
 * `op item create --generate-password` do. The token comes from node:crypto's random bytes,
 * mapped onto the character set by rejection sampling, so every character is equally likely
 * (a plain `byte % n` would favour the first `256 % n` characters). It is printed only with
 * `--print`: the usual place for it is the stash, not a terminal's scrollback.
 */
import type { CAC } from 'cac'
import { SSError } from '../../errors.js'
import { formatKeyPath, parseKeyPath } from '../../tree/key-path.js'
import { UsageError } from '../exit.js'
import { printStatus } from '../print.js'
import { openFromOptions, optionText, type GlobalOptions } from '../stash-options.js'
import { writeStdout } from '../stdout.js'
import { isTerminal } from '../terminal.js'

type Options = GlobalOptions & Record<string, unknown>

const LOWER = 'abcdefghijklmnopqrstuvwxyz'
const UPPER = LOWER.toUpperCase()
const DIGITS = '0123456789'

/** The named character sets of `--charset`; any other value is the set itself. */
export const CHARSETS: Readonly<Record<string, string>> = {
  alnum: UPPER + LOWER + DIGITS,
  alpha: UPPER + LOWER,
  lower: LOWER + DIGITS,
  digits: DIGITS,
  hex: '0123456789abcdef',
  base64url: `${UPPER}${LOWER}${DIGITS}-_`,
  // Printable ASCII without the space: what most password rules call "symbols".
  symbols: Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join(''),
}

/** The default length: 32 alphanumeric characters hold about 190 bits. */
export const DEFAULT_LENGTH = 32
const MAX_LENGTH = 4096

/**
 * The characters of `--charset`: a name from {@link CHARSETS}, else the characters given
 * (each once, in order).
 * @throws {UsageError} for fewer than two distinct characters, or more than 256
 */
export function charsetOf(spec: string | undefined): string[] {
  const chars = [...new Set([...(spec === undefined ? (CHARSETS.alnum as string) : (CHARSETS[spec] ?? spec))])]
  if (chars.length < 2 || chars.length > 256)
    throw new UsageError(`--charset ${JSON.stringify(spec)} is not a character set of 2 to 256 characters`, `use ${Object.keys(CHARSETS).join(', ')}, or the characters themselves, e.g. --charset 'abc123'`)
  return chars
}

/**
 * A random string of `length` characters of `chars` (2 to 256 of them), each uniformly
 * distributed: a random byte is used only when it is below the largest multiple of
 * `chars.length` that fits in a byte, and drawn again otherwise.
 * @param randomBytes - node:crypto's randomBytes (a parameter so that the tests can count draws)
 */
export function randomToken(chars: readonly string[], length: number, randomBytes: (n: number) => Uint8Array): string {
  const n = chars.length
  const limit = 256 - (256 % n)
  let out = ''
  let count = 0
  while (count < length) {
    for (const byte of randomBytes(Math.max(16, (length - count) * 2))) {
      if (byte >= limit) continue
      out += chars[byte % n]
      if (++count === length) break
    }
  }
  return out
}

function lengthOf(option: unknown): number {
  const typed = optionText(option)
  if (typed === undefined) return DEFAULT_LENGTH
  if (!/^[0-9]+$/.test(typed) || Number(typed) < 1 || Number(typed) > MAX_LENGTH)
    throw new UsageError(`--length ${JSON.stringify(typed)} is not a whole number from 1 to ${MAX_LENGTH}`, `e.g. --length ${DEFAULT_LENGTH}`)
  return Number(typed)
}

async function generate(keypath: string, options: Options): Promise<void> {
  const key = parseKeyPath(keypath)
  if (key.length === 0) throw new UsageError('the root of the stash cannot hold a value', 'give a key path such as project/db/password')
  const length = lengthOf(options.length)
  const chars = charsetOf(optionText(options.charset))
  const { randomBytes } = await import('node:crypto')
  const token = randomToken(chars, length, (n) => randomBytes(n))
  const stash = await openFromOptions(options)
  await stash.update((tree) => {
    if (tree.find(key)?.value !== undefined && options.force !== true)
      throw new SSError(`key ${formatKeyPath(key)} already holds a value`, 'DEST_EXISTS', { hint: `add --force to replace it with a new token (\`sstash generate ${keypath} --force\`)` })
    tree.write(key, new TextEncoder().encode(token))
  })
  if (options.print === true) return writeStdout(isTerminal(1) ? `${token}\n` : token)
  printStatus(`stored a new ${length}-character token at ${formatKeyPath(key)}`)
}

/** Registers `sstash generate`. */
export function registerGenerateCommand(cli: CAC): void {
  cli.command('generate <keypath>', 'store a new random token (node:crypto, uniform); prints nothing unless --print')
    .option('--length <n>', `how many characters (default ${DEFAULT_LENGTH})`)
    .option('--charset <set>', `${Object.keys(CHARSETS).join(', ')} (default alnum), or the characters themselves`)
    .option('--print', 'also print the token on stdout')
    .option('--force', 'replace a value the key already holds')
    .example('  $ sstash generate project/db/password')
    .example('  $ sstash generate project/api/secret --length 48 --charset base64url --print')
    .action((keypath: string, options: Options) => generate(keypath, options))
}
