/**
 * `sstash completion bash|zsh|fish` in the real shells: bash's completion function called as
 * bash calls it (COMP_WORDS, COMP_CWORD), fish's `complete -C`, and zsh's completion system
 * itself: Tab pressed at an interactive zsh on a pseudo-terminal (../fixtures/cli/zsh-complete.zsh),
 * since zsh's completion runs only inside its line editor. Key paths come from the agent only: a locked
 * stash completes nothing, and nothing ever prompts or reads a password variable.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, makeStash, runBin, runCommand, tempDir } from '../helpers.js'

const dir = tempDir()
const PASSWORD = 'completion password'
const has = (shell: string): boolean => spawnSync(shell, ['-c', 'exit 0']).status === 0
const hasZpty = has('zsh') && spawnSync('zsh', ['-f', '-c', 'zmodload zsh/zpty']).status === 0
const ZSH_DRIVER = join(ROOT, 'test/fixtures/cli/zsh-complete.zsh')
const bin = join(dir, 'bin')
mkdirSync(bin)
writeFileSync(join(bin, 'sstash'), `#!/bin/sh\nexec "${process.execPath}" "${BIN.sstash}" "$@"\n`, { mode: 0o755 })
let n = 0

/** A stash with a few keys, its own agent directory, and `sstash` on PATH. */
async function setup() {
  const base = join(dir, `case-${++n}`)
  const runtime = join(base, 'run')
  mkdirSync(runtime, { recursive: true, mode: 0o700 })
  const path = join(base, 'stash.sstash')
  await makeStash(path, PASSWORD, { 'project/api/token': 't', 'project/db/password': 'p', 'project/name': 'n', other: 'o' })
  const env = { SSTASH_FILE: path, XDG_RUNTIME_DIR: runtime, PATH: `${bin}:${process.env.PATH ?? ''}` }
  const script = join(base, 'completion')
  return { env, script, base }
}

/** The completions bash offers for a command line whose last word is being typed. */
async function bashComplete(script: string, env: Record<string, string>, line: string[]): Promise<string[]> {
  const words = line.map((w) => `'${w}'`).join(' ')
  const r = await runCommand('bash', ['-c', `source '${script}'; COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _sstash; printf '%s\\n' "\${COMPREPLY[@]}"`], { env })
  expect(r.stderr).toBe('')
  return r.stdout.split('\n').filter(Boolean)
}

describe('bash completion', () => {
  it('registers with complete and completes commands, actions and options', async () => {
    const { env, script } = await setup()
    writeFileSync(script, (await runBin('sstash', ['completion', 'bash'])).stdout)
    const registered = await runCommand('bash', ['-c', `source '${script}'; complete -p sstash`], { env })
    expect(registered.stdout).toBe('complete -F _sstash sstash\n')
    expect((await bashComplete(script, env, ['sstash', 'ge'])).sort()).toEqual(['generate', 'get'])
    expect(await bashComplete(script, env, ['sstash', 'team', 're'])).toEqual(['resolve'])
    expect(await bashComplete(script, env, ['sstash', 'agent', ''])).toEqual(['status', 'stop'])
    expect(await bashComplete(script, env, ['sstash', 'generate', 'x', '--l'])).toEqual(['--length'])
    expect(await bashComplete(script, env, ['sstash', 'completion', ''])).toEqual(['bash', 'zsh', 'fish'])
  })

  it('completes key paths through the agent, and nothing while the stash is locked, without prompting', async () => {
    const { env, script } = await setup()
    writeFileSync(script, (await runBin('sstash', ['completion', 'bash'])).stdout)
    // Locked, with a password variable at hand: completion must not use it.
    const locked = { ...env, SSTASH_PASSWORD: PASSWORD }
    expect(await bashComplete(script, locked, ['sstash', 'get', 'pro'])).toEqual([])
    expect((await runBin('sstash', ['unlock'], { env: { ...env, SSTASH_PASSWORD: PASSWORD } })).code).toBe(0)
    try {
      expect(await bashComplete(script, env, ['sstash', 'get', 'pro'])).toEqual(['project/'])
      expect(await bashComplete(script, env, ['sstash', 'get', 'project/'])).toEqual(['project/api/', 'project/db/', 'project/name'])
      expect(await bashComplete(script, env, ['sstash', 'rm', 'project/d'])).toEqual(['project/db/'])
      expect(await bashComplete(script, env, ['sstash', 'set', 'project/db/'])).toEqual(['project/db/password'])
    } finally {
      await runBin('sstash', ['lock', '--all'], { env })
    }
  })
})

describe.skipIf(!has('fish'))('fish completion', () => {
  it('completes commands, options and key paths with complete -C', async () => {
    const { env, script } = await setup()
    writeFileSync(script, (await runBin('sstash', ['completion', 'fish'])).stdout)
    const complete = async (line: string, extra: Record<string, string> = {}): Promise<string[]> => {
      const r = await runCommand('fish', ['-c', `source '${script}'; complete -C '${line}'`], { env: { ...env, ...extra } })
      return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0] as string)
    }
    expect(await complete('sstash ge')).toEqual(['generate', 'get'])
    expect(await complete('sstash ls --v')).toEqual(['--values'])
    // Locked, with a password variable at hand: completion must not use it.
    expect(await complete('sstash get project/', { SSTASH_PASSWORD: PASSWORD })).toEqual([])
    expect((await runBin('sstash', ['unlock'], { env: { ...env, SSTASH_PASSWORD: PASSWORD } })).code).toBe(0)
    try {
      expect(await complete('sstash get project/')).toEqual(['project/api/', 'project/db/', 'project/name'])
    } finally {
      await runBin('sstash', ['lock', '--all'], { env })
    }
  })
})

/** What zsh offers when Tab is pressed after `line` at an interactive prompt, and the terminal's transcript. */
async function zshComplete(script: string, env: Record<string, string>, line: string): Promise<{ offered: string[]; transcript: string }> {
  const out = join(dir, `zsh-offered-${++n}`)
  writeFileSync(out, '')
  const r = await runCommand('zsh', ['-f', ZSH_DRIVER, line], { env: { ...env, HOME: dir, COMPLETION_SCRIPT: script, COMPLETION_OUT: out }, timeoutMs: 30_000 })
  expect(r.code, r.stdout + r.stderr).toBe(0)
  return { offered: readFileSync(out, 'utf8').split('\n').filter(Boolean).sort(), transcript: r.stdout }
}

describe.skipIf(!has('zsh'))('zsh completion', () => {
  it('parses and registers _sstash for sstash with compdef', async () => {
    const { env, script } = await setup()
    writeFileSync(script, (await runBin('sstash', ['completion', 'zsh'])).stdout)
    expect((await runCommand('zsh', ['-n', script], { env })).code).toBe(0)
    const r = await runCommand('zsh', ['-f', '-c', `autoload -U compinit; compinit -u -D; source '${script}'; print -r -- $_comps[sstash]`], { env: { ...env, HOME: dir } })
    expect(r).toMatchObject({ code: 0, stdout: '_sstash\n' })
  })

  it.skipIf(!hasZpty)('completes commands, actions and options when Tab is pressed at a real zsh prompt', async () => {
    const { env, script } = await setup()
    writeFileSync(script, (await runBin('sstash', ['completion', 'zsh'])).stdout)
    expect((await zshComplete(script, env, 'sstash ge')).offered).toEqual(['generate', 'get'])
    expect((await zshComplete(script, env, 'sstash team re')).offered).toEqual(['resolve'])
    expect((await zshComplete(script, env, 'sstash agent ')).offered).toEqual(['status', 'stop'])
    expect((await zshComplete(script, env, 'sstash generate x --l')).offered).toEqual(['--length'])
    // As in bash: the command's options, then the global ones.
    expect((await zshComplete(script, env, 'sstash ls --v')).offered).toEqual(['--values', '--version'])
    expect((await zshComplete(script, env, 'sstash completion ')).offered).toEqual(['bash', 'fish', 'zsh'])
  })

  it.skipIf(!hasZpty)('completes key paths through the agent at a real zsh prompt, and nothing while the stash is locked, without prompting', async () => {
    const { env, script } = await setup()
    writeFileSync(script, (await runBin('sstash', ['completion', 'zsh'])).stdout)
    // Locked, on a terminal where a prompt could be shown, with a password variable at hand: completion must use neither.
    const locked = await zshComplete(script, { ...env, SSTASH_PASSWORD: PASSWORD }, 'sstash get pro')
    expect(locked.offered).toEqual([])
    expect(locked.transcript).not.toMatch(/password|passphrase/i)
    expect((await runBin('sstash', ['unlock'], { env: { ...env, SSTASH_PASSWORD: PASSWORD } })).code).toBe(0)
    try {
      expect((await zshComplete(script, env, 'sstash get pro')).offered).toEqual(['project/'])
      expect((await zshComplete(script, env, 'sstash get project/')).offered).toEqual(['project/api/', 'project/db/', 'project/name'])
      expect((await zshComplete(script, env, 'sstash rm project/d')).offered).toEqual(['project/db/'])
      expect((await zshComplete(script, env, 'sstash --stash ' + env.SSTASH_FILE + ' set project/db/')).offered).toEqual(['project/db/password'])
    } finally {
      await runBin('sstash', ['lock', '--all'], { env })
    }
  })
})

describe('sstash completion', () => {
  it('refuses a shell it does not know', async () => {
    const r = await runBin('sstash', ['completion', 'tcsh'])
    expect(r).toMatchObject({ code: 2, stdout: '' })
    expect(r.stderr.split('\n')[0]).toBe('sstash: error: completion needs bash, zsh or fish, not "tcsh"')
  })
})
