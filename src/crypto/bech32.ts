/**
 * Bech32 (BIP 173), as age spells its keys: `age1...` recipients and `AGE-SECRET-KEY-1...`
 * identities. Pure; every failure is an SSError BAD_INPUT-style message from the caller.
 */

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]

function polymod(values: number[]): number {
  let chk = 1
  for (const value of values) {
    const top = chk >>> 25
    chk = ((chk & 0x1ffffff) << 5) ^ value
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i] as number
  }
  return chk
}

const expandHrp = (hrp: string): number[] => [...[...hrp].map((c) => c.charCodeAt(0) >>> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)]

function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | undefined {
  let acc = 0
  let bits = 0
  const out: number[] = []
  const max = (1 << to) - 1
  for (let i = 0; i < data.length; i++) {
    acc = (acc << from) | (data[i] as number)
    bits += from
    while (bits >= to) {
      bits -= to
      out.push((acc >>> bits) & max)
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & max)
  } else if (bits >= from || ((acc << (to - bits)) & max) !== 0) return undefined
  return out
}

/** Encodes `bytes` under the human-readable part `hrp` (lower case out). */
export function bech32Encode(hrp: string, bytes: Uint8Array): string {
  const words = convertBits(bytes, 8, 5, true) as number[]
  const values = [...expandHrp(hrp), ...words, 0, 0, 0, 0, 0, 0]
  const mod = polymod(values) ^ 1
  const checksum = Array.from({ length: 6 }, (_, i) => (mod >>> (5 * (5 - i))) & 31)
  return `${hrp}1${[...words, ...checksum].map((w) => CHARSET[w]).join('')}`
}

/**
 * Decodes a bech32 string (all lower or all upper case).
 * @returns the human-readable part in lower case and the bytes, or undefined when it is not valid bech32
 */
export function bech32Decode(text: string): { hrp: string; bytes: Uint8Array } | undefined {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) return undefined
  const lower = text.toLowerCase()
  const split = lower.lastIndexOf('1')
  if (split < 1 || split + 7 > lower.length) return undefined
  const hrp = lower.slice(0, split)
  for (const c of hrp) if (c.charCodeAt(0) < 33 || c.charCodeAt(0) > 126) return undefined
  const words: number[] = []
  for (const c of lower.slice(split + 1)) {
    const word = CHARSET.indexOf(c)
    if (word < 0) return undefined
    words.push(word)
  }
  if (polymod([...expandHrp(hrp), ...words]) !== 1) return undefined
  const bytes = convertBits(words.slice(0, -6), 5, 8, false)
  return bytes === undefined ? undefined : { hrp, bytes: new Uint8Array(bytes) }
}
