/**
 * The ssh-agent client (src/unlock/ssh-agent.ts) against a real `ssh-agent`: the keys `ssh-add`
 * loaded, deterministic signatures (RSA with rsa-sha2-512), choosing a key, and never waiting
 * on a socket that is not an agent.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SshAgent, chooseKey } from '../../../src/unlock/ssh-agent.js'
import { displayPath } from '../../../src/unlock/display-path.js'
import { sshFingerprint, sshKeyType } from '../../../src/format/enroll.js'
import { tempDir } from '../../helpers.js'

const dir = tempDir()
const hasSshAgent = spawnSync('ssh-agent', ['-k'], { env: {} }).error === undefined
const sockDir = join(dir, 'ssh-agent')
const sock = join(sockDir, 'agent.1')

function keygen(type: string, comment: string): string {
  const file = join(dir, `${type}-${comment}`)
  spawnSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', comment, '-f', file])
  return file
}

describe.skipIf(!hasSshAgent)('the ssh-agent client', () => {
  mkdirSync(sockDir, { mode: 0o700 })
  const started = spawnSync('ssh-agent', ['-s', '-a', sock], { encoding: 'utf8' })
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(started.stdout)?.[1])
  afterAll(() => {
    if (pid > 0) process.kill(pid)
  })
  const ed = keygen('ed25519', 'alice@laptop')
  const rsa = keygen('rsa', 'alice@rsa')
  spawnSync('ssh-add', ['-q', rsa, ed], { env: { ...process.env, SSH_AUTH_SOCK: sock } })

  it('lists the keys ssh-add loaded, with their comments and fingerprints as ssh-add -l prints them', async () => {
    const agent = (await SshAgent.connect({ SSH_AUTH_SOCK: sock }))!
    try {
      const keys = await agent.keys()
      expect(keys.map((k) => [sshKeyType(k.blob), k.comment])).toEqual([
        ['ssh-rsa', 'alice@rsa'],
        ['ssh-ed25519', 'alice@laptop'],
      ])
      const listed = spawnSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: 'utf8' }).stdout
      for (const key of keys) expect(listed).toContain(sshFingerprint(key.blob))
      // Without a selector: the first ed25519 key, even when an RSA key comes first.
      expect(chooseKey(keys, undefined).comment).toBe('alice@laptop')
      expect(chooseKey(keys, 'alice@rsa').comment).toBe('alice@rsa')
      expect(chooseKey(keys, sshFingerprint(keys[1]!.blob)).comment).toBe('alice@laptop')
      expect(() => chooseKey(keys, 'SHA256:nope')).toThrow(expect.objectContaining({ code: 'NO_SSH_KEY' }))
      expect(() => chooseKey([], undefined)).toThrow(/the ssh-agent holds no key/)
    } finally {
      agent.close()
    }
  })

  it('gets the same signature twice from ed25519 and from RSA, which signs with rsa-sha2-512', async () => {
    const agent = (await SshAgent.connect({ SSH_AUTH_SOCK: sock }))!
    try {
      for (const key of await agent.keys()) {
        const data = new TextEncoder().encode('challenge')
        const first = await agent.sign(key.blob, data)
        expect(first).toBeDefined()
        expect(await agent.sign(key.blob, data)).toEqual(first)
        expect(sshKeyType(first!)).toBe(sshKeyType(key.blob) === 'ssh-rsa' ? 'rsa-sha2-512' : 'ssh-ed25519')
      }
      // A key the agent does not hold: refused, not a hang.
      const other = new Uint8Array(Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]))
      expect(await agent.sign(other, new Uint8Array(1))).toBeUndefined()
    } finally {
      agent.close()
    }
  })

  it('says "no agent" at once for an unset, missing or non-socket SSH_AUTH_SOCK', async () => {
    for (const env of [{}, { SSH_AUTH_SOCK: join(dir, 'missing') }, { SSH_AUTH_SOCK: '/dev/null' }, { SSH_AUTH_SOCK: dir }]) {
      const started = Date.now()
      expect(await SshAgent.connect(env)).toBeUndefined()
      expect(Date.now() - started).toBeLessThan(1_000)
    }
  })
})

describe('prompt paths', () => {
  it('shows a path under HOME as ~/..., and any other path as it is', () => {
    expect(displayPath('/home/alice/.ssh/id_ed25519', { HOME: '/home/alice' })).toBe('~/.ssh/id_ed25519')
    expect(displayPath('/home/alice2/x', { HOME: '/home/alice' })).toBe('/home/alice2/x')
    expect(displayPath('/etc/x', { HOME: '/' })).toBe('/etc/x')
  })
})
