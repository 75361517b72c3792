/**
 * Passphrase-protected OpenSSH keys used as identities (SSTASH_IDENTITY_FILE, `~/.ssh/id_ed25519`):
 * the sstash agent first (it holds a decrypted key for SSTASH_AGENT_TIMEOUT, as it holds stash
 * keys), then the passphrase from SSTASH_ASKPASS or the terminal, never from stdin. A decrypted
 * key is handed to the agent under the key file's real path and a hash of the file's bytes,
 * so `ssh-keygen -p` (a new passphrase, new bytes) makes the held copy useless at once.
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto'
import { realpathSync } from 'node:fs'
import { SSError } from '../errors.js'
import type { Ed25519Key, OpenSshKeyFile } from '../format/openssh-key.js'
import { agentGetKey, agentUnlock } from '../agent/client.js'
import { agentSocket } from '../agent/directory.js'
import { displayPath } from './display-path.js'

type Env = Record<string, string | undefined>

/** How many passphrases are tried at the terminal, as ssh-add allows. */
export const PASSPHRASE_TRIES = 3

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')

/** The ed25519 public key of a 32-byte seed. */
function publicKeyOf(seed: Uint8Array): Uint8Array {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' })
  return new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32))
}

function realPathOf(file: string): string {
  try {
    return realpathSync(file)
  } catch {
    return file
  }
}

/** The agent's entry for a key file: its real path, and a hash of its bytes (a new passphrase is a new id). */
function agentEntryOf(file: string, content: string): { path: string; keyId: string } {
  return { path: realPathOf(file), keyId: createHash('sha256').update('sstash ssh key|').update(content).digest('hex').slice(0, 32) }
}

async function fromAgent(file: OpenSshKeyFile, entry: { path: string; keyId: string }, env: Env): Promise<Ed25519Key | undefined> {
  if (!agentSocket(env)) return undefined
  const seed = await agentGetKey(entry.path, entry.keyId, env)
  if (seed?.length !== 32) return undefined
  const publicKey = publicKeyOf(seed)
  // The key must be the one in this file: anything else the agent says is ignored.
  if (!Buffer.from(file.publicWire.subarray(-32)).equals(publicKey)) return undefined
  return { seed, publicKey, comment: '' }
}

async function askpassPassphrase(program: string, prompt: string): Promise<Uint8Array> {
  const { execFile } = await import('node:child_process')
  const out = await new Promise<Buffer>((resolve, reject) => {
    execFile(program, [prompt], { encoding: 'buffer', timeout: 5 * 60_000 }, (error, stdout) => {
      if (error) reject(new SSError(`SSTASH_ASKPASS program ${program} failed`, 'NO_PASSWORD', { cause: error, hint: 'it must print the passphrase and exit 0' }))
      else resolve(stdout)
    })
  })
  const end = out.at(-1) === 0x0a ? (out.at(-2) === 0x0d ? out.length - 2 : out.length - 1) : out.length
  return new Uint8Array(out.subarray(0, end))
}

/** What {@link unlockSshKey} may use. */
export interface SshKeyOptions {
  env?: Env
  /** Ask for the passphrase at all, on the terminal or through SSTASH_ASKPASS (default true). */
  prompt?: boolean
  /** How long the agent holds the decrypted key (ms), or undefined to keep it out of the agent. */
  cacheForMs?: number
}

/**
 * The ed25519 key of an OpenSSH key file, asking for its passphrase when it has one: the
 * agent first, then SSTASH_ASKPASS (once), then the terminal ({@link PASSPHRASE_TRIES} tries).
 * @param file - the key file's path, shown in the prompt
 * @param content - the file's text
 * @throws {SSError} BAD_IDENTITY (a damaged file, another kind of key, a wrong passphrase),
 *   NO_PASSWORD (no way to ask), CANCELLED
 */
export async function unlockSshKey(file: string, content: string, options: SshKeyOptions = {}): Promise<Ed25519Key> {
  const env = options.env ?? process.env
  const { parseOpenSshKey } = await import('../format/openssh-key.js')
  const parsed = parseOpenSshKey(content, file)
  if (!parsed.encrypted) return parsed.plain()
  const entry = agentEntryOf(file, content)
  const held = await fromAgent(parsed, entry, env)
  if (held) return held
  const shown = displayPath(file, env)
  const prompt = `sstash: passphrase for the ssh key ${shown}: `
  let key: Ed25519Key | undefined
  if (env.SSTASH_ASKPASS && options.prompt !== false) {
    const passphrase = await askpassPassphrase(env.SSTASH_ASKPASS, prompt)
    key = await parsed.decrypt(passphrase).finally(() => passphrase.fill(0))
    if (!key) throw wrongPassphrase(shown, 'SSTASH_ASKPASS gave a wrong passphrase')
  } else {
    key = await fromTerminal(parsed, shown, prompt, options.prompt !== false)
  }
  if (options.cacheForMs !== undefined) {
    try {
      await agentUnlock(entry.path, { keyId: entry.keyId, key: key.seed }, options.cacheForMs, env)
    } catch {
      // The agent is a convenience: the key is decrypted, and the next command asks again.
    }
  }
  return key
}

async function fromTerminal(parsed: OpenSshKeyFile, shown: string, prompt: string, allowed: boolean): Promise<Ed25519Key> {
  const { promptHidden } = await import('./tty.js')
  for (let attempt = 1; attempt <= PASSPHRASE_TRIES; attempt++) {
    const typed = allowed ? await promptHidden(`${attempt > 1 ? 'sstash: wrong passphrase, try again\n' : ''}${prompt}`) : undefined
    if (typed === undefined)
      throw new SSError(`the ssh key ${shown} is protected by a passphrase, and there is no terminal to ask it on`, 'NO_PASSWORD', {
        hint: 'run the command in a terminal, or set SSTASH_ASKPASS to a program that prints the passphrase',
      })
    const passphrase = new Uint8Array(Buffer.from(typed, 'utf8'))
    const key = await parsed.decrypt(passphrase).finally(() => passphrase.fill(0))
    if (key) return key
  }
  throw wrongPassphrase(shown, `${PASSPHRASE_TRIES} wrong passphrases`)
}

function wrongPassphrase(shown: string, why: string): SSError {
  return new SSError(`cannot decrypt the ssh key ${shown}: ${why}`, 'BAD_IDENTITY', {
    hint: `check it with \`ssh-keygen -y -f ${shown}\`, which asks for the same passphrase`,
  })
}
