/**
 * What `sstash ls` and `sstash tree` print: pure functions from a tree node to lines or JSON.
 * Every name is written in the command-line key-path spelling (../keypath.ts), so whatever
 * is printed can be pasted back into another command. Values appear only when asked for.
 */
import { formatKeyPath, formatSegment } from '../../tree/key-path.js'
import type { TreeNode } from '../../tree/tree.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A key path as typed on the command line. A leading `-` is written `\x2d`, or the argument
 * parser would take the pasted path for an option.
 */
export function argumentOf(key: readonly string[]): string {
  const path = formatKeyPath(key)
  return path.startsWith('-') ? `\\x2d${path.slice(1)}` : path
}

function asText(value: Uint8Array): string | undefined {
  try {
    return utf8.decode(value)
  } catch {
    return undefined
  }
}

/**
 * A value for a human: a JSON string when the bytes are UTF-8 text, else `hex:<hex>`.
 * Either way it stays on one line.
 */
export function showValue(value: Uint8Array): string {
  const text = asText(value)
  return text === undefined ? `hex:${Buffer.from(value).toString('hex')}` : JSON.stringify(text)
}

/** One node in `--json` output. */
export interface JsonNode {
  /** The node's own name (the last segment); `""` for the root. */
  name: string
  /** The full key path as segments. */
  key: string[]
  /** The full key path in the command-line spelling. */
  path: string
  hasValue: boolean
  /** The value as text, with `--values`, when it is valid UTF-8. */
  value?: string
  /** The value as base64, with `--values`. */
  valueBase64?: string
  /** With `ls`, the number of children; with `tree`, the children themselves. */
  children?: JsonNode[]
  childCount?: number
}

function jsonOf(key: string[], node: TreeNode, withValues: boolean): JsonNode {
  const out: JsonNode = { name: key.at(-1) ?? '', key, path: argumentOf(key), hasValue: node.value !== undefined }
  if (withValues && node.value !== undefined) {
    const text = asText(node.value)
    if (text !== undefined) out.value = text
    out.valueBase64 = Buffer.from(node.value).toString('base64')
  }
  return out
}

/** A node's children in a stable order: by name, code unit by code unit (the order of `LC_ALL=C sort` for ASCII). */
export function sortedChildren(node: TreeNode): [string, TreeNode][] {
  return [...node.children].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/**
 * The lines of `sstash ls <key>`: each child's full key path, with a trailing `/` when it has
 * children of its own (a trailing `/` is ignored when pasted back). A key with a value and no
 * children lists itself.
 */
export function listLines(key: readonly string[], node: TreeNode, withValues: boolean): string[] {
  const line = (path: string[], child: TreeNode): string =>
    argumentOf(path) +
    (child.children.size > 0 ? '/' : '') +
    (withValues && child.value !== undefined ? ` : ${showValue(child.value)}` : '')
  if (node.children.size === 0 && node.value !== undefined && key.length > 0) return [line([...key], node)]
  return sortedChildren(node).map(([name, child]) => line([...key, name], child))
}

/** `sstash ls --json`: one object per child (or the key itself, as {@link listLines} does). */
export function listJson(key: readonly string[], node: TreeNode, withValues: boolean): JsonNode[] {
  const one = (path: string[], child: TreeNode): JsonNode => ({ ...jsonOf(path, child, withValues), childCount: child.children.size })
  if (node.children.size === 0 && node.value !== undefined && key.length > 0) return [one([...key], node)]
  return sortedChildren(node).map(([name, child]) => one([...key, name], child))
}

/**
 * The lines of `sstash tree <key>`, drawn as tree(1) draws a directory, children sorted:
 *
 *   a
 *   ├── b
 *   │   ├── c
 *   │   └── d
 *   └── e
 *
 * Below the root, the first line is the key's full path; at the root, each top-level name
 * starts its own tree. Child lines show one segment each.
 */
export function treeLines(key: readonly string[], node: TreeNode, withValues: boolean): string[] {
  const label = (name: string, child: TreeNode): string =>
    name + (withValues && child.value !== undefined ? ` : ${showValue(child.value)}` : '')
  const lines: string[] = []
  const walk = (parent: TreeNode, prefix: string): void => {
    const children = sortedChildren(parent)
    children.forEach(([name, child], i) => {
      const last = i === children.length - 1
      lines.push(`${prefix}${last ? '└── ' : '├── '}${label(formatSegment(name), child)}`)
      if (child.children.size > 0) walk(child, prefix + (last ? '    ' : '│   '))
    })
  }
  if (key.length > 0) {
    lines.push(label(argumentOf(key), node))
    walk(node, '')
  } else {
    for (const [name, child] of sortedChildren(node)) {
      lines.push(label(argumentOf([name]), child))
      walk(child, '')
    }
  }
  return lines
}

/** `sstash tree --json`: the node at `key` with its whole subtree. */
export function treeJson(key: readonly string[], node: TreeNode, withValues: boolean): JsonNode {
  const walk = (path: string[], current: TreeNode): JsonNode => ({
    ...jsonOf(path, current, withValues),
    children: sortedChildren(current).map(([name, child]) => walk([...path, name], child)),
  })
  return walk([...key], node)
}
