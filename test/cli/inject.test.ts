/**
 * `sstash inject` as a user runs it: real templates, real output files and modes, a FIFO, the
 * agent, another user's template, through the built binary.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { agentStatus } from '../../src/agent/client.js'
import { BIN, makeStash, otherUser, runBin, runCommand, tempDir } from '../helpers.js'

const dir = tempDir()
const PASSWORD = 'inject password'
const passwordFile = join(dir, 'password')
writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
let counter = 0

const VALUES = { 'project/db/URL': 'postgres://app:s3cr3t-pw@db/app', 'project/api/TOKEN': 'tok-7f3a9c' }

/** A fresh directory with a stash holding VALUES; `env` unlocks it with the password file. */
async function fresh(): Promise<{ cwd: string; env: Record<string, string>; stash: string }> {
  const cwd = join(dir, `case-${++counter}`)
  mkdirSync(cwd, { mode: 0o700 })
  const stash = join(cwd, 'test.sstash')
  await makeStash(stash, PASSWORD, VALUES)
  return { cwd, stash, env: { SSTASH_FILE: stash, SSTASH_PASSWORD_FILE: passwordFile } }
}

const TEMPLATE = '{\n  "database": "{{ sstash://project/db/URL }}",\n  "token": "{{sstash://project/api/TOKEN}}",\n  "image": "{{ .Values.image }}"\n}\n'
const FILLED = `{\n  "database": "${VALUES['project/db/URL']}",\n  "token": "${VALUES['project/api/TOKEN']}",\n  "image": "{{ .Values.image }}"\n}\n`

describe('sstash inject', () => {
  it('writes the filled template to -o with mode 0600, whatever the umask', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, 'config.tpl'), TEMPLATE)
    const script = `umask 000; exec "${process.execPath}" "${BIN.sstash}" inject -i config.tpl -o config.json`
    const run = await runCommand('sh', ['-c', script], { cwd, env })
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' })
    expect(readFileSync(join(cwd, 'config.json'), 'utf8')).toBe(FILLED)
    expect(statSync(join(cwd, 'config.json')).mode & 0o777).toBe(0o600)
  })

  it('replaces an existing output file atomically, making it 0600 and leaving no temp file', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, 'config.tpl'), TEMPLATE)
    writeFileSync(join(cwd, 'config.json'), 'old\n', { mode: 0o644 })
    chmodSync(join(cwd, 'config.json'), 0o644)
    const before = statSync(join(cwd, 'config.json')).ino
    const run = await runBin('sstash', ['inject', '--in-file', 'config.tpl', '--out-file', 'config.json'], { cwd, env })
    expect(run.code).toBe(0)
    const after = statSync(join(cwd, 'config.json'))
    expect(readFileSync(join(cwd, 'config.json'), 'utf8')).toBe(FILLED)
    expect(after.mode & 0o777).toBe(0o600)
    // Replaced by a rename, not rewritten in place: a reader never sees half a file.
    expect(after.ino).not.toBe(before)
    expect(readdirSync(cwd).sort()).toEqual(['config.json', 'config.tpl', 'test.sstash'])
  })

  it('prints to stdout without -o, and reads the template from stdin without -i', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, 'config.tpl'), TEMPLATE)
    expect(await runBin('sstash', ['inject', '-i', 'config.tpl'], { cwd, env })).toMatchObject({ code: 0, stdout: FILLED, stderr: '' })
    expect(await runBin('sstash', ['inject'], { cwd, env, input: TEMPLATE })).toMatchObject({ code: 0, stdout: FILLED, stderr: '' })
    // The option parser takes a lone `-` for a missing value; `=-` spells stdin and stdout.
    expect(await runBin('sstash', ['inject', '--in-file=-', '--out-file=-'], { cwd, env, input: TEMPLATE })).toMatchObject({ code: 0, stdout: FILLED })
  })

  it('reports every unresolved reference at once, exits 3, and writes nothing', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, 'config.tpl'), 'a={{ sstash://project/db/URL }}\nb={{ sstash://project/db/PASSWORD }}\nc={{ sstash://project }} d={{ sstash://nope/x }}\n')
    const run = await runBin('sstash', ['inject', '-i', 'config.tpl', '-o', 'config.json'], { cwd, env })
    expect(run.code).toBe(3)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(
      [
        'sstash: error: config.tpl:2:3: sstash://project/db/PASSWORD was not found in the stash',
        'sstash: error: config.tpl:3:3: sstash://project holds no value (only keys below it)',
        'sstash: error: config.tpl:3:28: sstash://nope/x was not found in the stash',
        'sstash: hint: `sstash ls <keypath>` shows what the stash holds; `sstash set <keypath>` stores a value',
        '',
      ].join('\n'),
    )
    expect(run.stderr).not.toContain('s3cr3t')
    expect(existsSync(join(cwd, 'config.json'))).toBe(false)
  })

  it('reports every malformed placeholder at once, before it asks for any password', async () => {
    const { cwd, stash } = await fresh()
    writeFileSync(join(cwd, 'config.tpl'), 'a={{ SSTASH://x }}\nb={{ sstash://a//b }}\nc={{ sstash://x\n')
    // No password source at all: a malformed template must fail before the stash is opened.
    const run = await runBin('sstash', ['inject', '-i', 'config.tpl'], { cwd, env: { SSTASH_FILE: stash } })
    expect(run.code).toBe(1)
    expect(run.stderr.split('\n').filter((l) => l.startsWith('sstash: error: '))).toEqual([
      'sstash: error: config.tpl:1:3: the placeholder looks like a reference but its scheme is not lowercase sstash://',
      'sstash: error: config.tpl:2:3: the placeholder has a key path that does not parse: it has an empty segment (write \\e for an empty name)',
      'sstash: error: config.tpl:3:3: the placeholder has no }} on its line',
    ])
  })

  it('writes escaped placeholders literally and copies other {{ }} untouched', async () => {
    const { cwd, env } = await fresh()
    const template = 'docs: {{ \\sstash://project/db/URL }}\nhelm: {{ .Values.x }}\ngha: ${{ secrets.T }}\nwin: "C:\\\\{{ sstash://project/api/TOKEN }}"\n'
    const run = await runBin('sstash', ['inject'], { cwd, env, input: template })
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(run.stdout).toBe(`docs: {{ sstash://project/db/URL }}\nhelm: {{ .Values.x }}\ngha: \${{ secrets.T }}\nwin: "C:\\\\${VALUES['project/api/TOKEN']}"\n`)
  })

  it('needs no stash and no password for a template without placeholders', async () => {
    const run = await runBin('sstash', ['inject'], { cwd: dir, env: { SSTASH_FILE: join(dir, 'no-such.sstash') }, input: 'just {{ text }}\n' })
    expect(run).toMatchObject({ code: 0, stdout: 'just {{ text }}\n', stderr: '' })
  })

  it('gives an error, not a hang, for a FIFO, a directory or a missing template', async () => {
    const { cwd, env } = await fresh()
    execFileSync('mkfifo', [join(cwd, 'fifo.tpl')])
    const fifo = await runBin('sstash', ['inject', '-i', 'fifo.tpl'], { cwd, env, timeoutMs: 10_000 })
    expect(fifo).toMatchObject({ code: 1, signal: null, stderr: 'sstash: error: fifo.tpl is not a regular file\n' })
    expect((await runBin('sstash', ['inject', '-i', '.'], { cwd, env })).stderr).toBe('sstash: error: . is not a regular file\n')
    expect((await runBin('sstash', ['inject', '-i', 'nope.tpl'], { cwd, env })).stderr).toBe('sstash: error: cannot read nope.tpl: no such file or directory\n')
  })

  it('refuses -i or -o given twice, and a template that is not UTF-8', async () => {
    const { cwd, env } = await fresh()
    writeFileSync(join(cwd, 'a.tpl'), 'x')
    const twice = await runBin('sstash', ['inject', '-i', 'a.tpl', '-i', 'a.tpl'], { cwd, env })
    expect(twice).toMatchObject({ code: 2, stderr: expect.stringMatching(/^sstash: error: -i may be given once\n/) })
    writeFileSync(join(cwd, 'bad.tpl'), Buffer.from([0x7b, 0x7b, 0xff]))
    expect((await runBin('sstash', ['inject', '-i', 'bad.tpl'], { cwd, env })).stderr).toBe('sstash: error: bad.tpl is not valid UTF-8\n')
  })

  it.skipIf(!otherUser())('refuses a template that another user owns or that anyone can write', async () => {
    const { cwd, env } = await fresh()
    const user = otherUser()!
    const theirs = join(cwd, 'theirs.tpl')
    writeFileSync(theirs, '{{ sstash://project/api/TOKEN }}')
    chownSync(theirs, user.uid, user.gid)
    const run = await runBin('sstash', ['inject', '-i', theirs], { cwd, env })
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(new RegExp(`^sstash: error: refusing to read ${theirs}: it belongs to another user \\(uid ${user.uid}\\)\\n`))
    const open = join(cwd, 'open.tpl')
    writeFileSync(open, '{{ sstash://project/api/TOKEN }}')
    chmodSync(open, 0o666)
    expect((await runBin('sstash', ['inject', '-i', 'open.tpl'], { cwd, env })).stderr).toBe(
      'sstash: error: refusing to read open.tpl: anyone can write it (mode 666)\nsstash: hint: chmod o-w open.tpl\n',
    )
  })

  it.skipIf(!otherUser())('refuses to write the output into a directory that another user owns', async () => {
    const { cwd, env } = await fresh()
    const user = otherUser()!
    const theirs = join(cwd, 'theirs')
    mkdirSync(theirs, { mode: 0o755 })
    chownSync(theirs, user.uid, user.gid)
    writeFileSync(join(cwd, 'config.tpl'), TEMPLATE)
    const run = await runBin('sstash', ['inject', '-i', 'config.tpl', '-o', join(theirs, 'config.json')], { cwd, env })
    expect(run).toMatchObject({ code: 1, stdout: '' })
    expect(run.stderr).toBe(`sstash: error: refusing to write in ${theirs}: it belongs to another user (uid ${user.uid})\n`)
    expect(readdirSync(theirs)).toEqual([])
  })
})

describe('sstash inject through the agent', () => {
  const runtimes: string[] = []
  afterAll(async () => {
    for (const runtime of runtimes) {
      const status = await agentStatus({ XDG_RUNTIME_DIR: runtime }).catch(() => undefined)
      if (status) process.kill(status.pid, 'SIGKILL')
    }
  })

  it('reads the values from the unlocked agent, with no password source at all', async () => {
    const { cwd, env, stash } = await fresh()
    const runtime = join(cwd, 'run')
    mkdirSync(runtime, { mode: 0o700 })
    runtimes.push(runtime)
    expect((await runBin('sstash', ['unlock'], { cwd, env: { ...env, XDG_RUNTIME_DIR: runtime } })).code).toBe(0)
    writeFileSync(join(cwd, 'config.tpl'), TEMPLATE)
    // setsid: no terminal to prompt on, so only the agent can unlock the stash.
    const script = `exec setsid -w "${process.execPath}" "${BIN.sstash}" inject -i config.tpl </dev/null`
    const run = await runCommand('sh', ['-c', script], { cwd, env: { SSTASH_FILE: stash, XDG_RUNTIME_DIR: runtime } })
    expect(run).toMatchObject({ code: 0, stdout: FILLED, stderr: '' })
  })
})
