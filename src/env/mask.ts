/**
 * `--mask`: replaces secret values with `*****` in a byte stream. Works on bytes, so a value
 * split across chunks (or a multi-byte character split across chunks) is still found: the
 * tail of each chunk that could be the start of a value is held back until the next chunk.
 */
import type { Readable, Writable } from 'node:stream'

/** What a masked value is replaced with. */
export const MASK = '*****'
const MASK_BYTES = Buffer.from(MASK)

/** A streaming masker: feed chunks in, get masked chunks out. */
export class Masker {
  readonly #needles: Buffer[]
  #pending: Buffer = Buffer.alloc(0)

  /** @param values - the values to hide; empty ones are ignored */
  constructor(values: readonly string[]) {
    const unique = [...new Set(values.filter((v) => v !== ''))]
    // Longest first, so that of two values starting at one place the longer is hidden whole.
    this.#needles = unique.map((v) => Buffer.from(v, 'utf8')).sort((a, b) => b.length - a.length)
  }

  /** Masks a chunk; returns what can be written now. */
  push(chunk: Uint8Array): Buffer {
    const buf = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : Buffer.from(chunk)
    return this.#scan(buf, false)
  }

  /** Returns whatever is held back, masked, at the end of the stream. */
  end(): Buffer {
    return this.#scan(this.#pending, true)
  }

  #scan(buf: Buffer, final: boolean): Buffer {
    const hold = final ? buf.length : this.#holdFrom(buf)
    const out: Buffer[] = []
    let at = 0
    for (;;) {
      let best = -1
      let bestLength = 0
      for (const needle of this.#needles) {
        const found = buf.indexOf(needle, at)
        if (found !== -1 && (best === -1 || found < best)) {
          best = found
          bestLength = needle.length
        }
      }
      if (best === -1 || best >= hold) break
      out.push(buf.subarray(at, best), MASK_BYTES)
      at = best + bestLength
    }
    const keep = Math.max(at, hold)
    out.push(buf.subarray(at, keep))
    this.#pending = Buffer.from(buf.subarray(keep))
    return Buffer.concat(out)
  }

  /** The first offset from which the rest of `buf` is a proper prefix of some value. */
  #holdFrom(buf: Buffer): number {
    const longest = this.#needles[0]?.length ?? 0
    for (let start = Math.max(0, buf.length - longest + 1); start < buf.length; start++) {
      const tail = buf.subarray(start)
      if (this.#needles.some((n) => n.length > tail.length && n.subarray(0, tail.length).equals(tail))) return start
    }
    return buf.length
  }
}

/**
 * Copies `from` to `to`, masking `values`. Write errors on `to` (a closed pipe) are ignored so
 * that the child's output can still be drained.
 */
export function pipeThroughMask(from: Readable, to: Writable, values: readonly string[]): void {
  const masker = new Masker(values)
  const write = (bytes: Buffer): void => {
    if (bytes.length === 0) return
    try {
      to.write(bytes)
    } catch {
      // A destroyed destination: drop the output, keep draining the child.
    }
  }
  to.on('error', () => {})
  from.on('data', (chunk: Buffer) => write(masker.push(chunk)))
  from.on('end', () => write(masker.end()))
}
