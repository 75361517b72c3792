/**
 * `sstash completion bash|zsh|fish`: a completion script for the shell, printed for the user's
 * profile (`eval "$(sstash completion bash)"`). Commands, actions and options come from the
 * command table, so the script matches this version. Key paths come from `sstash
 * __complete-keys <word>`, which asks the agent only: completion never prompts for a password
 * and never derives a key, and a locked stash completes nothing.
 */
import type { CAC } from 'cac'
import { agentReadTree } from '../../agent/client.js'
import { stashPath } from '../../locations.js'
import { resolveStashPath } from '../../fs/read.js'
import { parseKeyPath } from '../../tree/key-path.js'
import { UsageError } from '../exit.js'
import { writeStdout } from '../stdout.js'
import { argumentOf, sortedChildren } from './listing.js'
import { TEAM_ACTIONS } from './team-help.js'

/** The commands whose arguments are key paths. */
const KEY_COMMANDS = ['get', 'set', 'ls', 'tree', 'rm', 'mv', 'generate', 'export']
/** Options whose value is a file name. */
const FILE_OPTIONS = ['--stash', '--file', '--env-file', '--write-refs', '--in-file', '-i', '--out-file', '-o']

interface Table {
  commands: string[]
  global: string[]
  options: Record<string, string[]>
  actions: Record<string, string[]>
}

/** What the scripts complete, read from the command table. */
function tableOf(cli: CAC): Table {
  const spellings = (raw: string): string[] => raw.split(/[ ,]+/).filter((w) => w.startsWith('-'))
  const commands = cli.commands.map((c) => c.name).filter((n) => n !== '')
  const options: Record<string, string[]> = {}
  for (const c of cli.commands) options[c.name] = c.options.flatMap((o) => spellings(o.rawName))
  return {
    commands,
    global: cli.globalCommand.options.flatMap((o) => spellings(o.rawName)),
    options,
    actions: { team: Object.keys(TEAM_ACTIONS), agent: ['status', 'stop'], git: ['add', 'ls'], completion: ['bash', 'zsh', 'fish'] },
  }
}

const words = (list: readonly string[]): string => list.join(' ')

function bash(t: Table): string {
  const optionCases = Object.entries(t.options).map(([c, o]) => `      ${c}) opts="${words(o)}" ;;`).join('\n')
  const actionCases = Object.entries(t.actions).map(([c, a]) => `      ${c}) COMPREPLY=($(compgen -W "${words(a)}" -- "$cur")); return ;;`).join('\n')
  return `# sstash completion for bash. In ~/.bashrc: eval "$(sstash completion bash)"
_sstash() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd= args=0 i opts
  local -a stash=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      --stash) stash=(--stash "\${COMP_WORDS[i+1]}"); ((i++)) ;;
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=\${COMP_WORDS[i]}; else ((args++)); fi ;;
    esac
  done
  case $prev in ${FILE_OPTIONS.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "${words(t.commands)} ${words(t.global)}" -- "$cur")); return
  fi
  if [[ $cur == -* ]]; then
    opts=
    case $cmd in
${optionCases}
    esac
    COMPREPLY=($(compgen -W "$opts ${words(t.global)}" -- "$cur")); return
  fi
  if ((args == 0)); then
    case $cmd in
${actionCases}
    esac
  fi
  case $cmd in
    ${KEY_COMMANDS.join('|')})
      local IFS=$'\\n'
      COMPREPLY=($(command sstash "\${stash[@]}" __complete-keys "$cur" 2>/dev/null))
      if [[ \${#COMPREPLY[@]} -gt 0 && \${COMPREPLY[0]} == */ ]]; then compopt -o nospace 2>/dev/null; fi ;;
  esac
}
complete -F _sstash sstash
`
}

function zsh(t: Table): string {
  const optionCases = Object.entries(t.options).map(([c, o]) => `    ${c}) opts=(${words(o)}) ;;`).join('\n')
  const actionCases = Object.entries(t.actions).map(([c, a]) => `      ${c}) compadd -- ${words(a)}; return ;;`).join('\n')
  return `#compdef sstash
# sstash completion for zsh. In ~/.zshrc, after compinit: eval "$(sstash completion zsh)"
_sstash() {
  local cmd= args=0 i cur=\${words[CURRENT]}
  local -a stash opts keys
  for ((i = 2; i < CURRENT; i++)); do
    case \${words[i]} in
      --stash) stash=(--stash \${words[i+1]}); ((i++)) ;;
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=\${words[i]}; else ((args++)); fi ;;
    esac
  done
  case \${words[CURRENT-1]} in ${FILE_OPTIONS.join('|')}) _files; return ;; esac
  if [[ -z $cmd ]]; then compadd -- ${words(t.commands)} ${words(t.global)}; return; fi
  case $cmd in
${optionCases}
  esac
  if [[ $cur == -* ]]; then compadd -- $opts ${words(t.global)}; return; fi
  if ((args == 0)); then
    case $cmd in
${actionCases}
    esac
  fi
  case $cmd in
    ${KEY_COMMANDS.join('|')})
      keys=(\${(f)"$(command sstash $stash __complete-keys "$cur" 2>/dev/null)"})
      compadd -Q -S '' -- \${(M)keys:#*/}
      compadd -Q -- \${keys:#*/} ;;
  esac
}
compdef _sstash sstash
`
}

function fish(t: Table): string {
  const lines = [
    '# sstash completion for fish. In ~/.config/fish/config.fish: sstash completion fish | source',
    'complete -c sstash -f',
    `complete -c sstash -n __fish_use_subcommand -a '${words(t.commands)}'`,
    `complete -c sstash -l stash -r -F -d 'the stash file'`,
  ]
  for (const [c, a] of Object.entries(t.actions)) lines.push(`complete -c sstash -n '__fish_seen_subcommand_from ${c}; and test (count (commandline -opc)) -le 2' -a '${words(a)}'`)
  for (const [c, o] of Object.entries(t.options))
    for (const option of o.filter((x) => x.startsWith('--'))) lines.push(`complete -c sstash -n '__fish_seen_subcommand_from ${c}' -l ${option.slice(2)}`)
  lines.push(`complete -c sstash -n '__fish_seen_subcommand_from ${words(KEY_COMMANDS)}' -a '(command sstash __complete-keys (commandline -ct) 2>/dev/null)'`)
  return `${lines.join('\n')}\n`
}

/** `sstash completion <shell>`: prints the script. */
export function completionCommand(cli: CAC, shell: string | undefined): void {
  const make = { bash, zsh, fish }[shell ?? '']
  if (make === undefined) throw new UsageError(`completion needs bash, zsh or fish${shell === undefined ? '' : `, not ${JSON.stringify(shell)}`}`, 'e.g. eval "$(sstash completion bash)" in ~/.bashrc')
  writeStdout(make(tableOf(cli)))
}

/**
 * `sstash [--stash <path>] __complete-keys <word>`: the key paths that complete `word`, one a
 * line (a trailing `/` on those with children), asked of the agent only. Prints nothing, and
 * never fails, when no agent holds the stash or the word is not a key path.
 */
export async function completeKeys(argv: readonly string[]): Promise<void> {
  try {
    const at = argv.indexOf('--stash')
    const word = argv.filter((_, i) => at < 0 || (i !== at && i !== at + 1))[0] ?? ''
    const cut = word.lastIndexOf('/')
    const parent = cut < 0 ? [] : parseKeyPath(word.slice(0, cut))
    const tree = await agentReadTree(resolveStashPath(stashPath(at < 0 ? undefined : argv[at + 1])), [parent])
    const node = tree?.find(parent)
    if (node === undefined) return
    const matches = sortedChildren(node)
      .map(([name, child]) => argumentOf([...parent, name]) + (child.children.size > 0 ? '/' : ''))
      .filter((path) => path.startsWith(word))
    if (matches.length > 0) writeStdout(`${matches.join('\n')}\n`)
  } catch {
    // Completion shows nothing rather than an error in the middle of a command line.
  }
}
