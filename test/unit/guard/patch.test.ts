/** git's patch output read as a stream: added lines, their files and line numbers. Pure. */
import { describe, expect, it } from 'vitest'
import { PatchReader, unquotePath, type AddedRun } from '../../../src/guard/patch.js'
import { formatFinding } from '../../../src/guard/scanner.js'

function read(patch: string, chunk = Infinity): { runs: { commit?: string; path: string; line: number; text: string }[]; commits: string[] } {
  const runs: AddedRun[] = []
  const commits: string[] = []
  const reader = new PatchReader((run) => runs.push(run), (c) => commits.push(c))
  const bytes = Buffer.from(patch)
  for (let i = 0; i < bytes.length; i += Math.min(chunk, bytes.length)) reader.push(bytes.subarray(i, i + chunk))
  reader.end()
  return { runs: runs.map((r) => ({ ...(r.commit ? { commit: r.commit } : {}), path: r.path, line: r.line, text: r.text.toString() })), commits }
}

const PATCH = `sstash-guard-commit 1111
diff --git a/a.txt b/a.txt
index 1..2 100644
--- a/a.txt
+++ b/a.txt
@@ -3 +3,2 @@
-old
+new one
+new two
@@ -10,0 +12 @@
++++ b/looks-like-a-header
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
sstash-guard-commit 2222
diff --git "a/t\\tab \\303\\251" "b/t\\tab \\303\\251"
new file mode 100644
--- /dev/null
+++ "b/t\\tab \\303\\251"
@@ -0,0 +1 @@
+quoted
\\ No newline at end of file
`

describe('PatchReader', () => {
  it('hands on each run of added lines with its file, first line and commit, in chunks of any size', () => {
    const expected = {
      runs: [
        { commit: '1111', path: 'a.txt', line: 3, text: 'new one\nnew two\n' },
        { commit: '1111', path: 'a.txt', line: 12, text: '+++ b/looks-like-a-header\n' },
        { commit: '2222', path: 't\tab é', line: 1, text: 'quoted\n' },
      ],
      commits: ['1111', '2222'],
    }
    for (const chunk of [Infinity, 1, 2, 7, 64]) expect(read(PATCH, chunk)).toEqual(expected)
  })

  it('reads git diff --cached output, which has no commit lines', () => {
    expect(read('diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n').runs).toEqual([{ path: 'x', line: 1, text: 'b\n' }])
  })

  it('reads a hunk shorter than its header said as headers, rather than as content', () => {
    const { runs } = read('+++ b/x\n@@ -1,5 +1,5 @@\n+a\ndiff --git a/y b/y\n+++ b/y\n@@ -0,0 +1 @@\n+b\n')
    expect(runs).toEqual([
      { path: 'x', line: 1, text: 'a\n' },
      { path: 'y', line: 1, text: 'b\n' },
    ])
  })

  it('unquotes paths as git quotes them, and leaves plain ones alone', () => {
    const table: [string, string][] = [
      ['b/plain name', 'b/plain name'],
      ['"b/a\\"b"', 'b/a"b'],
      ['"b/back\\\\slash"', 'b/back\\slash'],
      ['"b/\\303\\274"', 'b/ü'],
      ['"b/nl\\n"', 'b/nl\n'],
      ['"', '"'],
    ]
    for (const [spelled, path] of table) expect(unquotePath(spelled)).toBe(path)
  })

  it('prints a file name holding a newline or a terminal escape as \\xHH, so a committed name cannot forge a report line', () => {
    const file = unquotePath('"b/x\\nsrc/ok.ts:1: fake\\033[2K"').slice(2)
    expect(formatFinding({ file, line: 3, key: 'api/token', encoding: 'plain' })).toBe('x\\x0asrc/ok.ts:1: fake\\x1b[2K:3: api/token')
  })
})
