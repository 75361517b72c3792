import { createHash, pbkdf2, scrypt } from 'node:crypto'
import { SSError, SSValueError } from '../errors.js'

/** scrypt, the native format's key derivation. N must be a power of two. */
export interface ScryptParams {
  name: 'scrypt'
  N: number
  r: number
  p: number
}

/** PBKDF2-HMAC-SHA512, the Python sstash 0.17 format's key derivation. */
export interface Pbkdf2Params {
  name: 'pbkdf2-sha512'
  iterations: number
}

/** How a password becomes a key. The name also picks the file format of a new stash. */
export type KdfParams = ScryptParams | Pbkdf2Params

/** OWASP's minimum for scrypt, and the default for new stashes: about 0.6 s on a 2-core laptop. */
export const DEFAULT_SCRYPT: ScryptParams = { name: 'scrypt', N: 2 ** 17, r: 8, p: 1 }

/** The Python package's own default (2^18 iterations); OWASP asks for at least 210,000. */
export const DEFAULT_PBKDF2: Pbkdf2Params = { name: 'pbkdf2-sha512', iterations: 2 ** 18 }

/**
 * Bounds that a file's parameters must stay within, checked before any derivation,
 * so that a tampered file cannot make us work for minutes or allocate gigabytes.
 */
export const KDF_BOUNDS = {
  scrypt: { maxN: 2 ** 20, maxR: 32, maxP: 16, maxMemory: 1024 * 1024 * 1024, maxWork: 2 ** 24 },
  pbkdf2: { maxIterations: 2 ** 23 },
} as const

/** Parameters below these are allowed (tests use them) but `sstash doctor` calls them weak. */
export const KDF_WEAK = { scryptN: 2 ** 17, pbkdf2Iterations: 210_000 } as const

/** Whether `kdf` is below {@link KDF_WEAK}: allowed, but a stolen copy of the file is cheap to attack. */
export function isWeakKdf(kdf: KdfParams): boolean {
  return kdf.name === 'scrypt' ? kdf.N < KDF_WEAK.scryptN : kdf.iterations < KDF_WEAK.pbkdf2Iterations
}

const isInt = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n)

/**
 * Checks KDF parameters against {@link KDF_BOUNDS}.
 * @throws {SSError} BAD_PARAMETERS naming the first parameter out of bounds
 */
export function checkKdf(kdf: KdfParams): void {
  const bad = (what: string): never => {
    throw new SSError(`unsupported key derivation parameters: ${what}`, 'BAD_PARAMETERS')
  }
  if (kdf.name === 'scrypt') {
    const b = KDF_BOUNDS.scrypt
    const { N, r, p } = kdf
    if (!isInt(N) || N < 2 || N > b.maxN || (N & (N - 1)) !== 0) bad(`scrypt N must be a power of two from 2 to 2^20`)
    if (!isInt(r) || r < 1 || r > b.maxR) bad(`scrypt r must be from 1 to ${b.maxR}`)
    if (!isInt(p) || p < 1 || p > b.maxP) bad(`scrypt p must be from 1 to ${b.maxP}`)
    if (128 * N * r > b.maxMemory) bad('scrypt N*r needs more than 1 GiB of memory')
    if (N * r * p > b.maxWork) bad('scrypt N*r*p is too large')
    return
  }
  if (kdf.name === 'pbkdf2-sha512') {
    const { iterations } = kdf
    if (!isInt(iterations) || iterations < 1 || iterations > KDF_BOUNDS.pbkdf2.maxIterations)
      bad(`pbkdf2 iterations must be from 1 to 2^23`)
    return
  }
  bad(`unknown key derivation ${JSON.stringify((kdf as { name: unknown }).name)}`)
}

/**
 * Derives a 32-byte key from a password (as UTF-8) and a salt, off the main thread.
 * @throws {SSError} BAD_PARAMETERS when the parameters are out of bounds; {@link SSValueError} for a
 *   password with a lone surrogate, which has no UTF-8 form
 */
export async function deriveKey(kdf: KdfParams, password: string, salt: Uint8Array): Promise<Uint8Array> {
  checkKdf(kdf)
  // A lone surrogate has no UTF-8 form: Buffer.from would write U+FFFD for it, and two passwords would be one.
  if (!password.isWellFormed()) throw new SSValueError('the password is not well-formed Unicode text (it holds a lone surrogate)')
  const secret = Buffer.from(password, 'utf8')
  try {
    return await new Promise<Uint8Array>((resolve, reject) => {
      if (kdf.name === 'scrypt') {
        const maxmem = 128 * kdf.N * kdf.r * kdf.p + 128 * kdf.r * (kdf.p + 2) + 1024 * 1024
        scrypt(secret, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem }, (err, key) => (err ? reject(err) : resolve(new Uint8Array(key))))
      } else {
        pbkdf2(secret, salt, kdf.iterations, 32, 'sha512', (err, key) => (err ? reject(err) : resolve(new Uint8Array(key))))
      }
    })
  } finally {
    secret.fill(0)
  }
}

/**
 * Parses the command-line spelling of a KDF choice:
 * `scrypt`, `scrypt:N=131072,r=8,p=1` (also `logN=17`), `pbkdf2-sha512` or `pbkdf2-sha512:iterations=300000`.
 * Parameters left out take the defaults.
 * @throws {SSError} BAD_KDF_SPEC on anything else
 */
export function parseKdfSpec(spec: string): KdfParams {
  const fail = (why: string): never => {
    throw new SSError(`invalid --kdf ${JSON.stringify(spec)}: ${why}`, 'BAD_KDF_SPEC')
  }
  const colon = spec.indexOf(':')
  const name = colon < 0 ? spec : spec.slice(0, colon)
  const rest = colon < 0 ? '' : spec.slice(colon + 1)
  const params = new Map<string, number>()
  if (rest !== '') {
    for (const part of rest.split(',')) {
      const eq = part.indexOf('=')
      if (eq < 0) fail(`expected name=value, got ${JSON.stringify(part)}`)
      const key = part.slice(0, eq)
      const text = part.slice(eq + 1)
      if (!/^[0-9]{1,10}$/.test(text)) fail(`${key} must be a whole number`)
      if (params.has(key)) fail(`${key} is given twice`)
      params.set(key, Number(text))
    }
  }
  const take = (allowed: string[]): void => {
    for (const key of params.keys()) if (!allowed.includes(key)) fail(`unknown parameter ${JSON.stringify(key)}`)
  }
  let kdf: KdfParams
  if (name === 'scrypt') {
    take(['N', 'logN', 'r', 'p'])
    if (params.has('N') && params.has('logN')) fail('give N or logN, not both')
    const logN = params.get('logN')
    kdf = {
      name: 'scrypt',
      N: logN !== undefined ? (logN > 30 ? fail('logN is too large') : 2 ** logN) : (params.get('N') ?? DEFAULT_SCRYPT.N),
      r: params.get('r') ?? DEFAULT_SCRYPT.r,
      p: params.get('p') ?? DEFAULT_SCRYPT.p,
    }
  } else if (name === 'pbkdf2-sha512') {
    take(['iterations'])
    kdf = { name: 'pbkdf2-sha512', iterations: params.get('iterations') ?? DEFAULT_PBKDF2.iterations }
  } else {
    return fail('the key derivation must be scrypt or pbkdf2-sha512')
  }
  try {
    checkKdf(kdf)
  } catch (error) {
    fail((error as Error).message.replace(/^unsupported key derivation parameters: /, ''))
  }
  return kdf
}

/** The spelling {@link parseKdfSpec} reads back, e.g. `scrypt:N=131072,r=8,p=1`. */
export function formatKdfSpec(kdf: KdfParams): string {
  return kdf.name === 'scrypt' ? `scrypt:N=${kdf.N},r=${kdf.r},p=${kdf.p}` : `pbkdf2-sha512:iterations=${kdf.iterations}`
}

/**
 * A stable identifier of a derived key's inputs (never of the key itself): a cached key
 * applies to a file only while the file's format, KDF parameters and salt are unchanged.
 */
export function keyIdOf(format: string, kdf: KdfParams, salt: Uint8Array): string {
  return createHash('sha256').update(`${format}|${formatKdfSpec(kdf)}|`).update(salt).digest('hex').slice(0, 32)
}
