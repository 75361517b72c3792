/**
 * A client of ssh-agent (OpenSSH's PROTOCOL.agent, draft-miller-ssh-agent): list the keys it
 * holds, and ask it to sign. Messages are `uint32 length || byte type || contents`. Used only
 * for enrolled ssh-agent sources (src/format/enroll.ts): it must never make sstash wait, so a
 * missing SSH_AUTH_SOCK or a dead socket is "no agent" at once, and a live agent that does not
 * answer is given up on after {@link SSH_AGENT_TIMEOUT_MS}.
 */
import { createConnection } from 'node:net'
import { SSError } from '../errors.js'
import { sshFingerprint, sshKeyType } from '../format/enroll.js'

type Env = Record<string, string | undefined>

/**
 * How long a live ssh-agent may take to answer one request when opening a stash: then the next
 * source is tried. Enrolling waits longer for a signature (`ssh-add -c` asks for a confirmation).
 */
export const SSH_AGENT_TIMEOUT_MS = 3_000

const REQUEST_IDENTITIES = 11
const IDENTITIES_ANSWER = 12
const SIGN_REQUEST = 13
const SIGN_RESPONSE = 14
/** Flag of a sign request: an RSA key signs with rsa-sha2-512, never SHA-1. */
const RSA_SHA2_512 = 4
const MAX_MESSAGE = 256 * 1024

/** A key the agent holds. */
export interface AgentKey {
  /** The public key's SSH wire form. */
  blob: Uint8Array
  comment: string
}

/** One connection to an ssh-agent, answering requests in turn. */
export class SshAgent {
  readonly #socket: ReturnType<typeof createConnection>
  #buffer = Buffer.alloc(0)
  #waiting: ((message: Buffer | undefined) => void) | undefined

  private constructor(socket: ReturnType<typeof createConnection>) {
    this.#socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk])
      this.#deliver()
    })
    socket.on('close', () => this.#waiting?.(undefined))
    socket.on('error', () => this.#waiting?.(undefined))
  }

  /**
   * Connects to SSH_AUTH_SOCK.
   * @returns undefined when it is unset, missing, or nobody listens (never throws, never waits long)
   */
  static connect(env: Env = process.env): Promise<SshAgent | undefined> {
    const path = env.SSH_AUTH_SOCK
    if (!path) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      const socket = createConnection(path)
      const timer = setTimeout(() => {
        socket.destroy()
        resolve(undefined)
      }, SSH_AGENT_TIMEOUT_MS)
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve(new SshAgent(socket))
      })
      socket.once('error', () => {
        clearTimeout(timer)
        resolve(undefined)
      })
    })
  }

  #deliver(): void {
    if (this.#buffer.length < 4 || !this.#waiting) return
    const length = this.#buffer.readUInt32BE(0)
    if (length > MAX_MESSAGE) return this.#waiting(undefined)
    if (this.#buffer.length < 4 + length) return
    const message = this.#buffer.subarray(4, 4 + length)
    this.#buffer = this.#buffer.subarray(4 + length)
    this.#waiting(message)
  }

  #request(type: number, body: Uint8Array, timeoutMs = SSH_AGENT_TIMEOUT_MS): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(undefined), timeoutMs)
      const finish = (message: Buffer | undefined): void => {
        clearTimeout(timer)
        this.#waiting = undefined
        resolve(message)
      }
      this.#waiting = finish
      const header = Buffer.alloc(5)
      header.writeUInt32BE(body.length + 1, 0)
      header[4] = type
      this.#socket.write(Buffer.concat([header, body]))
      this.#deliver()
    })
  }

  /** The keys the agent holds, or an empty list when it does not answer. */
  async keys(): Promise<AgentKey[]> {
    const answer = await this.#request(REQUEST_IDENTITIES, new Uint8Array(0))
    if (answer?.[0] !== IDENTITIES_ANSWER) return []
    const reader = new Reader(answer.subarray(1))
    const count = reader.uint32() ?? 0
    const keys: AgentKey[] = []
    for (let i = 0; i < count && i < 1024; i++) {
      const blob = reader.string()
      const comment = reader.string()
      if (!blob || !comment) break
      keys.push({ blob: new Uint8Array(blob), comment: comment.toString('utf8') })
    }
    return keys
  }

  /**
   * Has the agent sign `data` with the key `blob` (RSA keys with rsa-sha2-512).
   * @param timeoutMs - how long to wait for the signature
   * @returns the signature blob (`string format || string signature`), or undefined when the agent refused
   */
  async sign(blob: Uint8Array, data: Uint8Array, timeoutMs = SSH_AGENT_TIMEOUT_MS): Promise<Uint8Array | undefined> {
    const flags = Buffer.alloc(4)
    flags.writeUInt32BE(RSA_SHA2_512)
    const answer = await this.#request(SIGN_REQUEST, Buffer.concat([wireString(blob), wireString(data), flags]), timeoutMs)
    if (answer?.[0] !== SIGN_RESPONSE) return undefined
    const signature = new Reader(answer.subarray(1)).string()
    return signature && new Uint8Array(signature)
  }

  /** Closes the connection. */
  close(): void {
    this.#socket.destroy()
  }
}

/** Runs `fn` with a connection to the ssh-agent, or returns undefined when there is none. */
export async function withSshAgent<T>(env: Env, fn: (agent: SshAgent) => Promise<T>): Promise<T | undefined> {
  const agent = await SshAgent.connect(env)
  if (!agent) return undefined
  try {
    return await fn(agent)
  } finally {
    agent.close()
  }
}

/**
 * The agent's key that `selector` names: a `SHA256:` fingerprint, a comment, or (without a
 * selector) the only key, or the first ed25519 key.
 * @throws {SSError} NO_SSH_KEY
 */
export function chooseKey(keys: readonly AgentKey[], selector: string | undefined): AgentKey {
  const none = (why: string): SSError => new SSError(why, 'NO_SSH_KEY', { hint: 'add it with `ssh-add ~/.ssh/id_ed25519`; `ssh-add -l` lists the keys the ssh-agent holds' })
  if (keys.length === 0) throw none('the ssh-agent holds no key')
  if (selector === undefined) return keys.find((key) => sshKeyType(key.blob) === 'ssh-ed25519') ?? (keys[0] as AgentKey)
  const wanted = selector.startsWith('SHA256:') ? selector : undefined
  const found = keys.filter((key) => (wanted ? sshFingerprint(key.blob) === wanted : key.comment === selector))
  if (found.length === 0) throw none(`the ssh-agent holds no key ${JSON.stringify(selector)}`)
  if (found.length > 1) throw new SSError(`the ssh-agent holds ${found.length} keys named ${JSON.stringify(selector)}`, 'NO_SSH_KEY', { hint: 'give its SHA256: fingerprint (`ssh-add -l`)' })
  return found[0] as AgentKey
}

function wireString(bytes: Uint8Array): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(bytes.length)
  return Buffer.concat([length, bytes])
}

class Reader {
  #offset = 0
  constructor(readonly bytes: Buffer) {}
  uint32(): number | undefined {
    if (this.#offset + 4 > this.bytes.length) return undefined
    this.#offset += 4
    return this.bytes.readUInt32BE(this.#offset - 4)
  }
  string(): Buffer | undefined {
    const length = this.uint32()
    if (length === undefined || this.#offset + length > this.bytes.length) return undefined
    this.#offset += length
    return this.bytes.subarray(this.#offset - length, this.#offset)
  }
}
