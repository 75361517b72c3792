/**
 * The binaries read stdin with blocking reads; a stdin that a parent left non-blocking (its
 * reads fail with EAGAIN until data comes) is read through the stream instead. python3 makes
 * such a pipe (Node has no fcntl) and writes to it only after a pause.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, makeStash, runBin, runCommand, tempDir } from '../helpers.js'

const dir = tempDir()
const stash = join(dir, 'nb.sstash')
const env = { SSTASH_FILE: stash, SSTASH_PASSWORD: 'pw', XDG_RUNTIME_DIR: dir, XDG_CONFIG_HOME: join(dir, 'config') }

const PYTHON = `
import fcntl, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)
child = subprocess.Popen(sys.argv[2:], stdin=r)
os.close(r)
time.sleep(0.3)
os.write(w, sys.argv[1].encode())
os.close(w)
sys.exit(child.wait())
`

/** Runs `args` with a non-blocking stdin pipe that receives `input` 300 ms after the start. */
const withNonBlockingStdin = (input: string, args: string[]) => runCommand('python3', ['-c', PYTHON, input, process.execPath, ...args], { env })

describe('a non-blocking stdin', () => {
  it('carries git\'s request to the helper', async () => {
    await makeStash(stash, 'pw', { 'git/https/example.com/-/bob/password': 's3cret' })
    const result = await withNonBlockingStdin('protocol=https\nhost=example.com\n\n', [BIN.git, 'get'])
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe('username=bob\npassword=s3cret\n')
  })

  it('carries the value to sstash set', async () => {
    const result = await withNonBlockingStdin('a value that came late', [BIN.sstash, 'set', 'app/late'])
    expect(result.code).toBe(0)
    expect((await runBin('sstash', ['get', 'app/late'], { env })).stdout).toBe('a value that came late')
  })
})
