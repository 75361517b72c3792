/**
 * Finds fingerprinted forms in a text without knowing them. Values can hold any bytes, so
 * there is no tokenisation to trust: every position of the text is a candidate start. At each,
 * the keyed hash of the next {@link PREFIX_BYTES} bytes, rolled on from the position before,
 * picks a bucket; only
 * when a form starts with a prefix of that bucket (about one position in a thousand for 1,000
 * values) is the HMAC of the candidate of each form's length computed and compared. The work
 * is linear in the bytes scanned, whatever the number of values.
 */
import { PREFIX_BYTES } from './forms.js'
import { BUCKET_BITS, bucketOf, prefixHash, rollHash, tagOf, type FingerprintSet, type GuardKey } from './fingerprints.js'

/** A form found in a text: bytes [start, end), the key path it belongs to, and how it was spelled. */
export interface Match {
  start: number
  end: number
  path: string
  encoding: string
}

interface Print {
  length: number
  tag: string
  path: string
  encoding: string
}

/** The fingerprints of one or more stashes, each with its own key, indexed for scanning. */
export class Matcher {
  readonly #groups: { key: GuardKey; bits: Uint8Array; heads: Int32Array; next: Int32Array; prints: Print[] }[] = []

  /** Adds the fingerprints of one stash, made with `key`. */
  add(key: GuardKey, set: FingerprintSet): void {
    const heads = new Int32Array(1 << BUCKET_BITS).fill(-1)
    // A bit per bucket: 128 KB stays in the cache, where the 4 MB of heads would not.
    const bits = new Uint8Array(1 << (BUCKET_BITS - 3))
    const next = new Int32Array(set.prints.length)
    const prints: Print[] = []
    for (const [bucket, length, tag, index, encoding] of set.prints) {
      const path = set.paths[index]
      // A damaged entry is skipped rather than trusted: it could only miss, never print a value.
      if (path === undefined || !(bucket >= 0 && bucket < heads.length) || !(length >= PREFIX_BYTES)) continue
      next[prints.length] = heads[bucket] as number
      bits[bucket >>> 3] = (bits[bucket >>> 3] as number) | (1 << (bucket & 7))
      heads[bucket] = prints.length
      prints.push({ length, tag, path, encoding })
    }
    if (prints.length > 0) this.#groups.push({ key, bits, heads, next, prints })
  }

  /** True when nothing is fingerprinted. */
  get empty(): boolean {
    return this.#groups.length === 0
  }

  /** Every form found in `text`, in order of where it starts. */
  find(text: Uint8Array): Match[] {
    const found: Match[] = []
    const last = text.length - PREFIX_BYTES
    for (const { key, bits, heads, next, prints } of this.#groups) {
      let h = last >= 0 ? prefixHash(key, text, 0) : 0
      for (let at = 0; at <= last; at++) {
        const bucket = bucketOf(key, h)
        if (at < last) h = rollHash(key, h, text[at] as number, text[at + PREFIX_BYTES] as number)
        if (((bits[bucket >>> 3] as number) & (1 << (bucket & 7))) === 0) continue
        let i = heads[bucket] as number
        // One HMAC per distinct length at this position, however many forms share the bucket.
        const tags = new Map<number, string>()
        for (; i >= 0; i = next[i] as number) {
          const print = prints[i] as Print
          const end = at + print.length
          if (end > text.length) continue
          let tag = tags.get(print.length)
          if (tag === undefined) tags.set(print.length, (tag = tagOf(key, text, at, end)))
          if (tag === print.tag) found.push({ start: at, end, path: print.path, encoding: print.encoding })
        }
      }
    }
    return found.sort((a, b) => a.start - b.start)
  }
}
