/** Times as people read them, in the local zone: `sstash agent status`, the guard's and team's dates. */

/** The zone of `date` as people write it (`CET`, `EST`), else its offset (`UTC+05:30`). */
function zoneOf(date: Date): string {
  for (const locale of ['en-US', 'en-GB']) {
    const name = new Intl.DateTimeFormat(locale, { timeZoneName: 'short' }).formatToParts(date).find((part) => part.type === 'timeZoneName')?.value
    if (name !== undefined && /^[A-Z]{2,5}$/.test(name)) return name
  }
  const offset = -date.getTimezoneOffset()
  const two = (n: number): string => String(n).padStart(2, '0')
  return `UTC${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`
}

/** A time for people: local time with its zone, such as `2025-03-01 14:05:09 CET`. */
export function formatTime(ms: number): string {
  const date = new Date(ms)
  const two = (n: number): string => String(n).padStart(2, '0')
  const day = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`
  return `${day} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ${zoneOf(date)}`
}
