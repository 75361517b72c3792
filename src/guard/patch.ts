/**
 * Reads git's patch output (`git diff` and `git log -p`, with `-U0`) as a stream and hands on
 * each run of added lines with its file and first line number. Pure, and fed in chunks of any
 * size. A hunk's header gives how many lines it holds, and exactly those are read as content,
 * so an added line that looks like a header (`+++ b/x`, `diff --git`) is content, not a header.
 */

const NEWLINE = Buffer.from('\n')

/** Consecutive added lines of one file: `text` is the lines, each ended by `\n`. */
export interface AddedRun {
  commit: string | undefined
  path: string
  line: number
  text: Buffer
}

/** The line `git log --format` prints before each commit's patch. */
export const COMMIT_MARKER = 'sstash-guard-commit '

const C_ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 }

/** A path as git prints it: C-quoted (`"b/a\tb"`, octal bytes) when it holds unusual characters. */
export function unquotePath(spelled: string): string {
  if (!spelled.startsWith('"') || !spelled.endsWith('"') || spelled.length < 2) return spelled
  const bytes: number[] = []
  const inner = Buffer.from(spelled.slice(1, -1), 'utf8')
  for (let i = 0; i < inner.length; i++) {
    const b = inner[i] as number
    if (b !== 92 || i + 1 >= inner.length) {
      bytes.push(b)
      continue
    }
    const next = String.fromCharCode(inner[i + 1] as number)
    if (/[0-7]/.test(next)) {
      bytes.push(parseInt(inner.subarray(i + 1, i + 4).toString('latin1'), 8) & 0xff)
      i += 3
    } else {
      bytes.push(C_ESCAPES[next] ?? (inner[i + 1] as number))
      i += 1
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

/** The streaming reader: {@link push} chunks, then {@link end}. */
export class PatchReader {
  readonly #onRun: (run: AddedRun) => void
  readonly #onCommit: (commit: string) => void
  #partial: Buffer[] = []
  #commit: string | undefined
  #path = ''
  #oldLeft = 0
  #newLeft = 0
  #newLine = 0
  #run: Buffer[] = []
  #runLine = 0

  /**
   * @param onRun - called with each run of added lines
   * @param onCommit - called at each commit marker (a history's patch)
   */
  constructor(onRun: (run: AddedRun) => void, onCommit: (commit: string) => void = () => {}) {
    this.#onRun = onRun
    this.#onCommit = onCommit
  }

  /** Reads a chunk of the output. */
  push(chunk: Buffer): void {
    let from = 0
    for (let nl = chunk.indexOf(10, from); nl >= 0; nl = chunk.indexOf(10, from)) {
      let line = chunk.subarray(from, nl)
      if (this.#partial.length > 0) {
        line = Buffer.concat([...this.#partial, line])
        this.#partial = []
      }
      this.#line(line)
      from = nl + 1
    }
    if (from < chunk.length) this.#partial.push(Buffer.from(chunk.subarray(from)))
  }

  /** Reads what is left. */
  end(): void {
    if (this.#partial.length > 0) this.#line(Buffer.concat(this.#partial))
    this.#partial = []
    this.#flush()
  }

  #flush(): void {
    if (this.#run.length === 0) return
    // Each line as in the file, with its newline: a value that ends with one (a PEM key) is found whole.
    this.#onRun({ commit: this.#commit, path: this.#path, line: this.#runLine, text: Buffer.concat(this.#run.flatMap((l) => [l, NEWLINE])) })
    this.#run = []
  }

  #line(line: Buffer): void {
    if (this.#oldLeft > 0 || this.#newLeft > 0) return this.#content(line)
    this.#flush()
    const text = line.toString('utf8')
    if (text.startsWith(COMMIT_MARKER)) {
      this.#commit = text.slice(COMMIT_MARKER.length).trim()
      this.#onCommit(this.#commit)
    } else if (text.startsWith('+++ ')) {
      const spelled = unquotePath(text.slice(4))
      this.#path = spelled.startsWith('b/') ? spelled.slice(2) : spelled
    } else if (text.startsWith('@@ ')) {
      const hunk = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(text)
      if (!hunk) return
      this.#oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1])
      this.#newLine = Number(hunk[2])
      this.#newLeft = hunk[3] === undefined ? 1 : Number(hunk[3])
      // `+0,0` (all lines removed) names the line before; nothing is added there anyway.
    }
  }

  #content(line: Buffer): void {
    const kind = line[0]
    if (kind === 0x2b) {
      if (this.#run.length === 0) this.#runLine = this.#newLine
      this.#run.push(line.subarray(1))
      this.#newLine++
      this.#newLeft--
      return
    }
    this.#flush()
    if (kind === 0x2d) this.#oldLeft--
    else if (kind === 0x20) {
      this.#oldLeft--
      this.#newLeft--
      this.#newLine++
    } else if (kind !== 0x5c) {
      // Not a content line: the hunk was shorter than its header said; read it as a header.
      this.#oldLeft = 0
      this.#newLeft = 0
      this.#line(line)
    }
  }
}
