// Numbers as people read them: "1.2 M", "3.4 GB", "3 min 05 s". Independent of the browser's locale, so
// the page reads the same everywhere and the tests can pin the exact text.

const DASH = '—';

/** One decimal below 10 of a unit, whole numbers above; "1.0" shows as "1". */
function scaled(value: number, base: number, units: string[]): string {
  if (!Number.isFinite(value)) return DASH;
  const sign = value < 0 ? '-' : '';
  let v = Math.abs(value);
  let u = 0;
  while (u < units.length - 1 && round(v / base ** u) >= base) u++;
  v /= base ** u;
  return `${sign}${trimZero(round(v))}${units[u] ? ` ${units[u]}` : ''}`;
}

const round = (v: number): number => (v < 10 ? Math.round(v * 10) / 10 : Math.round(v));
const trimZero = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));

/** 950 → "950", 1234 → "1.2 K", 124_439_808 → "124 M", 1.5e9 → "1.5 B". */
export function formatCount(n: number): string {
  return scaled(n, 1000, ['', 'K', 'M', 'B', 'T']);
}

/** Decimal units, as file managers and drive makers count: 3_400_000_000 → "3.4 GB". */
export function formatBytes(bytes: number): string {
  return scaled(bytes, 1000, ['B', 'KB', 'MB', 'GB', 'TB']);
}

/** Digits grouped in threes: 50257 → "50,257". */
export function formatInteger(n: number): string {
  if (!Number.isFinite(n)) return DASH;
  const s = String(Math.round(Math.abs(n)));
  return (n < 0 ? '-' : '') + s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 42 → "42 s", 185 → "3 min 05 s", 7500 → "2 h 05 min", 200000 → "2 d 7 h". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return DASH;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad2(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${pad2(Math.floor((s % 3600) / 60))} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Losses to three decimals (what changes step to step), very small or large ones in three digits. */
export function formatLoss(loss: number): string {
  if (!Number.isFinite(loss)) return Number.isNaN(loss) ? 'NaN' : loss > 0 ? '∞' : '-∞';
  if (loss !== 0 && (Math.abs(loss) < 0.001 || Math.abs(loss) >= 1e4)) return formatScientific(loss);
  return loss.toFixed(3);
}

/** The way learning rates are written in papers and configs: 5e-5, 3.2e-4, 1e-8. */
export function formatScientific(x: number): string {
  if (!Number.isFinite(x)) return DASH;
  if (x === 0) return '0';
  const [mantissa, exponent] = x.toExponential(2).split('e');
  const m = mantissa.replace(/\.?0+$/, '');
  const e = Number(exponent);
  return e === 0 ? m : `${m}e${e}`;
}

/** Tokens per second: 38 → "38 tokens/s", 12345 → "12 K tokens/s". */
export function formatRate(perSecond: number, unit = 'tokens'): string {
  return `${formatCount(perSecond)} ${unit}/s`;
}

/** 0.1234 → "12%"; below 10 % one decimal, so slow progress still moves. */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return DASH;
  const p = fraction * 100;
  return `${p < 10 ? trimZero(Math.round(p * 10) / 10) : Math.round(p)}%`;
}

/** A date as "2025-03-14 09:26" in the reader's time zone. */
export function formatDate(date: Date): string {
  if (Number.isNaN(date.getTime())) return DASH;
  return (
    `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())} ` +
    `${pad2(date.getHours())}:${pad2(date.getMinutes())}`
  );
}
