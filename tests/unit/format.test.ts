import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatCount,
  formatDate,
  formatDuration,
  formatInteger,
  formatLoss,
  formatPercent,
  formatRate,
  formatScientific,
} from '../../src/ui/format.ts';

describe('formatCount', () => {
  it('keeps small numbers whole', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(7)).toBe('7');
    expect(formatCount(950)).toBe('950');
  });
  it('one decimal below 10 of a unit, whole numbers above', () => {
    expect(formatCount(1234)).toBe('1.2 K');
    expect(formatCount(1_200_000)).toBe('1.2 M');
    expect(formatCount(12_345_678)).toBe('12 M');
    expect(formatCount(124_439_808)).toBe('124 M');
    expect(formatCount(1.5e9)).toBe('1.5 B');
  });
  it('drops a trailing .0 and moves to the next unit when rounding reaches it', () => {
    expect(formatCount(1000)).toBe('1 K');
    expect(formatCount(9_960)).toBe('10 K');
    expect(formatCount(999_950)).toBe('1 M');
    expect(formatCount(999_499)).toBe('999 K');
  });
  it('negative and non-finite', () => {
    expect(formatCount(-2500)).toBe('-2.5 K');
    expect(formatCount(NaN)).toBe('—');
    expect(formatCount(Infinity)).toBe('—');
  });
});

describe('formatBytes', () => {
  it('uses decimal units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1234)).toBe('1.2 KB');
    expect(formatBytes(3_400_000_000)).toBe('3.4 GB');
    expect(formatBytes(498_000_000)).toBe('498 MB');
    expect(formatBytes(2e12)).toBe('2 TB');
    expect(formatBytes(5e15)).toBe('5000 TB');
  });
});

describe('formatInteger', () => {
  it('groups digits in threes', () => {
    expect(formatInteger(0)).toBe('0');
    expect(formatInteger(999)).toBe('999');
    expect(formatInteger(50257)).toBe('50,257');
    expect(formatInteger(124_439_808)).toBe('124,439,808');
    expect(formatInteger(-1234.4)).toBe('-1,234');
  });
});

describe('formatDuration', () => {
  it('seconds, minutes, hours, days', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
    expect(formatDuration(3599.6)).toBe('1 h 00 min');
    expect(formatDuration(7500)).toBe('2 h 05 min');
    expect(formatDuration(200_000)).toBe('2 d 7 h');
  });
  it('unknown durations show a dash', () => {
    expect(formatDuration(NaN)).toBe('—');
    expect(formatDuration(Infinity)).toBe('—');
    expect(formatDuration(-1)).toBe('—');
  });
});

describe('formatLoss and formatScientific', () => {
  it('losses to three decimals', () => {
    expect(formatLoss(10.8253)).toBe('10.825');
    expect(formatLoss(3.14159)).toBe('3.142');
    expect(formatLoss(0)).toBe('0.000');
    expect(formatLoss(0.00012)).toBe('1.2e-4');
    expect(formatLoss(NaN)).toBe('NaN');
    expect(formatLoss(Infinity)).toBe('∞');
  });
  it('learning rates as in configs', () => {
    expect(formatScientific(5e-5)).toBe('5e-5');
    expect(formatScientific(3.2e-4)).toBe('3.2e-4');
    expect(formatScientific(1e-8)).toBe('1e-8');
    expect(formatScientific(6.25e-5)).toBe('6.25e-5');
    expect(formatScientific(2)).toBe('2');
    expect(formatScientific(0)).toBe('0');
  });
});

describe('formatRate, formatPercent, formatDate', () => {
  it('rates', () => {
    expect(formatRate(38)).toBe('38 tokens/s');
    expect(formatRate(12_345)).toBe('12 K tokens/s');
    expect(formatRate(2.5, 'samples')).toBe('2.5 samples/s');
  });
  it('percentages', () => {
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(0.0123)).toBe('1.2%');
    expect(formatPercent(0.5)).toBe('50%');
    expect(formatPercent(1)).toBe('100%');
  });
  it('dates in local time', () => {
    expect(formatDate(new Date(2025, 2, 14, 9, 26, 53))).toBe('2025-03-14 09:26');
    expect(formatDate(new Date(NaN))).toBe('—');
  });
});
