/** Small statistics and formatting helpers for bench/run.mjs. */

/** Median, 90th percentile (nearest rank) and minimum of a list of milliseconds. */
export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
  const mid = sorted.length / 2
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2
  return { median, p90: at(0.9), min: sorted[0] }
}

/** `123.4 ms`, or `1.23 s` from a second up. */
export function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`
}

const mib = (kib) => (kib === undefined ? '?' : `${(kib / 1024).toFixed(0)} MiB`)

/** `+1.2 ms`, or `−0.4 ms`. */
export const plus = (ms) => (ms === undefined ? '' : `${ms < 0 ? '−' : '+'}${Math.abs(ms).toFixed(1)} ms`)

/** The markdown table of one group's rows on one Node. */
export function markdownTable(rows) {
  const lines = ['| command | median | p90 | x `node -e 0` | over its floor | peak RSS | verdict |', '|---|---:|---:|---:|---:|---:|---|']
  for (const r of rows)
    lines.push(`| ${r.label} | ${formatMs(r.median)} | ${formatMs(r.p90)} | ${r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`} | ${plus(r.overFloorMs)} | ${mib(r.peakRssKiB)} | ${r.verdict ?? ''} |`)
  return lines.join('\n')
}
