// Dates, numbers and durations in the page's language and the city's time zone (Intl), and the
// city-written texts as the loaders hand them over: the text plus its language when it is not
// the page's (marked with `lang`).

export type Display = { locale: string; timeZone: string; cityDefault: string };

/** A city-written text in the page's language or the one the fallback chain found. */
export type LocalText = { text: string; lang?: string };

export function dateTime(display: Display, iso: string): string {
  return new Intl.DateTimeFormat(display.locale, { dateStyle: "medium", timeStyle: "short", timeZone: display.timeZone }).format(new Date(iso));
}

export function date(display: Display, iso: string): string {
  return new Intl.DateTimeFormat(display.locale, { dateStyle: "medium", timeZone: display.timeZone }).format(new Date(iso));
}

export function coordinate(display: Display, value: number): string {
  return new Intl.NumberFormat(display.locale, { maximumFractionDigits: 6 }).format(value);
}

export function count(display: Display, value: number): string {
  return new Intl.NumberFormat(display.locale).format(value);
}

/** A duration in the largest unit that reads well: minutes, hours or days. */
export function duration(display: Display, seconds: number): string {
  const [value, unit] = seconds < 3600 ? [seconds / 60, "minute"] : seconds < 172_800 ? [seconds / 3600, "hour"] : [seconds / 86_400, "day"];
  return new Intl.NumberFormat(display.locale, { style: "unit", unit, unitDisplay: "long", maximumFractionDigits: value < 10 ? 1 : 0 }).format(value);
}

/** Bytes as kB or MB in the page's language. */
export function size(display: Display, bytes: number): string {
  const [value, unit] = bytes >= 1_000_000 ? [bytes / 1_000_000, "megabyte"] : [bytes / 1000, "kilobyte"];
  return new Intl.NumberFormat(display.locale, { style: "unit", unit, unitDisplay: "short", maximumFractionDigits: 1 }).format(value);
}
