/**
 * Text that arrives as bytes: a password file, SSTASH_ASKPASS's output, what is typed at the
 * terminal, argv and the environment. Bytes that are not UTF-8 are refused, never replaced by
 * U+FFFD: two different passwords (or key paths) would then become one. Node decodes argv and
 * the environment itself, replacing bad bytes; on Linux /proc/self shows the bytes it read, and
 * where there is no /proc a U+FFFD cannot be told from a replaced byte, so it is refused too.
 */
import { READ_LIMITS, readRegularFile } from '../fs/read.js'

let strict: InstanceType<typeof TextDecoder> | undefined

/** `bytes` as text, or undefined when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    // Made on first use: most runs decode nothing this way.
    strict ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
    return strict.decode(bytes)
  } catch {
    return undefined
  }
}

/** The NUL-separated entries of /proc/self/cmdline or /proc/self/environ, or undefined without /proc. */
function procEntries(name: 'cmdline' | 'environ'): Buffer[] | undefined {
  let raw: Buffer
  try {
    const bytes = readRegularFile(`/proc/self/${name}`, READ_LIMITS.proc)
    if (bytes === undefined) return undefined
    raw = Buffer.from(bytes)
  } catch {
    return undefined
  }
  const entries: Buffer[] = []
  let start = 0
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0) continue
    entries.push(raw.subarray(start, i))
    start = i + 1
  }
  if (start < raw.length) entries.push(raw.subarray(start))
  return entries
}

/**
 * The first of this process's arguments (`args`, the end of process.argv) that was not valid
 * UTF-8 before Node decoded it. Only an argument holding U+FFFD can be one, so /proc is read
 * only then.
 * @returns its index in `args`, or -1 when every argument was valid UTF-8
 */
export function invalidArgument(args: readonly string[]): number {
  const suspects = args.flatMap((arg, i) => (arg.includes('\ufffd') ? [i] : []))
  if (suspects.length === 0) return -1
  const raw = procEntries('cmdline')
  for (const i of suspects) {
    const bytes = raw?.[raw.length - args.length + i]
    if (bytes === undefined || decodeUtf8(bytes) !== args[i]) return i
  }
  return -1
}

/**
 * Whether the variable `name` of this process's environment, which Node decoded as `value`,
 * was valid UTF-8 (read from /proc only when `value` holds U+FFFD).
 */
export function environmentValueIsUtf8(name: string, value: string): boolean {
  if (!value.includes('\ufffd')) return true
  const prefix = Buffer.from(`${name}=`)
  const entry = procEntries('environ')?.find((e) => e.subarray(0, prefix.length).equals(prefix))
  return entry !== undefined && decodeUtf8(entry.subarray(prefix.length)) === value
}
