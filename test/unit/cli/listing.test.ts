import { describe, expect, it } from 'vitest'
import { listLines, showValue, treeLines } from '../../../src/cli/commands/listing.js'
import { parseKeyPath } from '../../../src/tree/key-path.js'
import { Tree } from '../../../src/tree/tree.js'

const bytes = (text: string) => new TextEncoder().encode(text)

function treeOf(paths: string[]): Tree {
  const tree = new Tree()
  for (const path of paths) tree.write(path.split('/'), bytes(path))
  return tree
}

describe('treeLines', () => {
  it('draws nested subtrees as tree(1) does, sorted, with no blank bar between siblings', () => {
    const tree = treeOf(['h', 'a/f/g', 'a/b/d/y', 'a/b/c', 'a/b/d/x', 'a/e'])
    expect(treeLines([], tree.root, false)).toEqual(['a', '├── b', '│   ├── c', '│   └── d', '│       ├── x', '│       └── y', '├── e', '└── f', '    └── g', 'h'])
  })

  it('starts a subtree with its full key path and shows values only when asked', () => {
    const tree = treeOf(['a/b/c'])
    expect(treeLines(['a', 'b'], tree.node(['a', 'b']), false)).toEqual(['a/b', '└── c'])
    expect(treeLines(['a', 'b'], tree.node(['a', 'b']), true)).toEqual(['a/b', '└── c : "a/b/c"'])
  })

  it('prints every name so that it parses back to the same segment', () => {
    const names = ['x/y', 'back\\slash', '', 'tab\t', 'nul\0', 'ü 🔑', '\\e', 'del\x7f']
    const tree = new Tree()
    for (const name of names) tree.write(['top', name], bytes('v'))
    const lines = listLines(['top'], tree.node(['top']), false)
    const sorted = [...names].sort()
    expect(lines.map((line) => parseKeyPath(line))).toEqual(sorted.map((name) => ['top', name]))
    const drawn = treeLines(['top'], tree.node(['top']), false).slice(1).map((line) => line.slice(4))
    expect(drawn.map((segment) => parseKeyPath(segment)[0])).toEqual(sorted)
  })
})

describe('a leading dash', () => {
  it('is written \\x2d so that a pasted path is not taken for an option', () => {
    const tree = treeOf(['-r/x', 'a/-b'])
    expect(listLines([], tree.root, false)).toEqual(['\\x2dr/', 'a/'])
    expect(listLines(['a'], tree.node(['a']), false)).toEqual(['a/-b'])
    expect(treeLines([], tree.root, false)).toEqual(['\\x2dr', '└── x', 'a', '└── -b'])
    expect(parseKeyPath('\\x2dr')).toEqual(['-r'])
  })
})

describe('showValue', () => {
  it('shows text as a JSON string and other bytes as hex, always on one line', () => {
    expect(showValue(bytes('two\nlines "q"'))).toBe('"two\\nlines \\"q\\""')
    expect(showValue(new Uint8Array([0xff, 0x00]))).toBe('hex:ff00')
  })
})
