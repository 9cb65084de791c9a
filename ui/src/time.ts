/**
 * Times for people: relative ("3 min ago") with the absolute time in the
 * browser's zone for hover, and durations. Pure functions; the ticking
 * clock that refreshes relative times lives in components.tsx.
 */

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 86_400_000],
  ["month", 30 * 86_400_000],
  ["week", 7 * 86_400_000],
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1000],
];

export function relativeTime(iso: string, now: number, locale?: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const diff = t - now;
  if (Math.abs(diff) < 10_000) return "just now";
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms || unit === "second") {
      return rtf.format(Math.trunc(diff / ms), unit);
    }
  }
  return iso;
}

export function absoluteTime(iso: string, locale?: string, timeZone?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale, {
    dateStyle: "medium",
    timeStyle: "medium",
    timeZone,
  }) + ` ${zoneName(d, locale, timeZone)}`;
}

/**
 * The absolute time in few characters, beside the relative one (phones
 * cannot hover): the clock time today, the day and time this year, the day
 * before that.
 */
export function shortTime(iso: string, now: number, locale?: string, timeZone?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const day = (t: Date) => t.toLocaleDateString("en-CA", { timeZone });
  const n = new Date(now);
  const clock: Intl.DateTimeFormatOptions = { hour: "2-digit", minute: "2-digit", timeZone };
  if (day(d) === day(n)) return d.toLocaleTimeString(locale, clock);
  const date: Intl.DateTimeFormatOptions = { day: "numeric", month: "short", timeZone };
  if (day(d).slice(0, 4) === day(n).slice(0, 4)) {
    return d.toLocaleString(locale, { ...date, ...clock });
  }
  return d.toLocaleDateString(locale, { ...date, year: "numeric" });
}

function zoneName(d: Date, locale?: string, timeZone?: string): string {
  const part = new Intl.DateTimeFormat(locale, { timeZoneName: "short", timeZone })
    .formatToParts(d).find((p) => p.type === "timeZoneName");
  return part?.value ?? "";
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function durationBetween(
  from: string | null,
  to: string | null,
  now: number,
): number | null {
  if (!from) return null;
  const end = to ? Date.parse(to) : now;
  return end - Date.parse(from);
}

/** A countdown in whole seconds: "42 s", "4 min 59 s", "5 min". */
export function formatWait(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
}
