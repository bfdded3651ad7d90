import type { TimeFormat } from './import-mapping.ts';

export type ParsedTime = { ok: true; ms: number } | { ok: false; reason: string };

/** YYYY-MM-DD, optionally followed by [T or space]hh:mm[:ss[.fraction]] and a zone (Z, ±hh:mm, ±hhmm). */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Reads an event time as files write it: ISO-8601 with `T` or a space, a bare date (midnight),
 * or epoch seconds or milliseconds. A time without a zone is UTC, as the Segment spec reads
 * timestamps. Impossible dates (2024-02-30) are refused rather than rolled over, and years outside
 * 1970–9999 are refused as the tracking API refuses them.
 */
export function parseEventTime(value: unknown, format: TimeFormat): ParsedTime {
  if (typeof value === 'number') return fromEpoch(value, format);
  if (typeof value !== 'string') return { ok: false, reason: 'is not a date' };
  const text = value.trim();
  if (format === 'epoch_s' || format === 'epoch_ms' || (format === 'auto' && /^\d+(\.\d+)?$/.test(text))) {
    const n = Number(text);
    if (text === '' || !Number.isFinite(n)) return { ok: false, reason: `is not an epoch ${format === 'epoch_ms' ? 'millisecond' : 'second'} count` };
    return fromEpoch(n, format);
  }
  const m = DATE_TIME.exec(text);
  if (m === null) return { ok: false, reason: 'is not an ISO-8601 date or date-time (e.g. 2024-03-01T14:22:00Z)' };
  const n = (i: number): number => Number(m[i] ?? '0');
  const [year, month, day, hour, minute, second] = [n(1), n(2), n(3), n(4), n(5), n(6)];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (year < 1970 || year > 9999) return { ok: false, reason: 'has a year outside 1970–9999' };
  const offset = zoneMinutes(m[8]);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const back = new Date(ms);
  if (offset === undefined || hour > 23 || minute > 59 || second > 59 || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) {
    return { ok: false, reason: 'is not a valid date' };
  }
  return { ok: true, ms: ms - offset * 60_000 };
}

function fromEpoch(n: number, format: TimeFormat): ParsedTime {
  // `auto`: ten digits are seconds until the year 2286; milliseconds have thirteen.
  const ms = format === 'epoch_ms' || (format === 'auto' && Math.abs(n) >= 1e11) ? n : n * 1000;
  if (!Number.isFinite(ms) || ms < 0 || ms > Date.UTC(9999, 11, 31, 23, 59, 59, 999)) return { ok: false, reason: 'is outside 1970–9999' };
  return { ok: true, ms: Math.round(ms) };
}

function zoneMinutes(zone: string | undefined): number | undefined {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 23 || minutes > 59) return undefined;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}
