/**
 * One credential field as one key segment of the layout (see ./mapping.ts), injectively:
 * `%` `/` and control characters become `%XX`, raw (non-UTF-8) bytes become `%XX`, an absent
 * path or username is `-` and a value that is exactly `-` is `%2D`.
 */
import { decodeBytes } from './protocol.js'

/** The segment that stands for an absent path or username. */
export const ABSENT = '-'

const hex2 = (code: number): string => `%${code.toString(16).toUpperCase().padStart(2, '0')}`

/**
 * One field as one key segment, injectively (see this module's comment).
 * @param value - the field's value, or undefined when absent
 * @returns the segment
 */
export function encodeSegment(value: string | undefined): string {
  if (value === undefined) return ABSENT
  if (value === ABSENT) return '%2D'
  let out = ''
  for (const char of value) {
    const code = char.charCodeAt(0)
    if (char === '%' || char === '/' || code < 0x20 || code === 0x7f) out += hex2(code)
    else if (char.length === 1 && code >= 0xdc80 && code <= 0xdcff) out += hex2(code - 0xdc00)
    else out += char
  }
  return out
}

/**
 * The inverse of {@link encodeSegment}.
 * @param segment - a key segment
 * @returns the field value, undefined for {@link ABSENT}, or null when `segment` is not one
 *   {@link encodeSegment} writes (a key someone made by hand); such keys are skipped
 */
export function decodeSegment(segment: string): string | undefined | null {
  if (segment === ABSENT) return undefined
  const bytes: number[] = []
  const encoder = new TextEncoder()
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string
    if (c !== '%') {
      const code = segment.codePointAt(i) as number
      if (code > 0xffff) i++
      bytes.push(...encoder.encode(String.fromCodePoint(code)))
      continue
    }
    const pair = segment.slice(i + 1, i + 3)
    if (!/^[0-9A-F]{2}$/.test(pair)) return null
    bytes.push(parseInt(pair, 16))
    i += 2
  }
  const value = decodeBytes(new Uint8Array(bytes))
  return encodeSegment(value) === segment ? value : null
}
