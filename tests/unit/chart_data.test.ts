import { describe, expect, it } from 'vitest';
import { alignLossSeries } from '../../src/ui/chart_data.ts';

describe('alignLossSeries', () => {
  it('merges train and eval points on their steps, with gaps', () => {
    const train = [
      { step: 10, loss: 5 },
      { step: 20, loss: 4 },
      { step: 30, loss: 3.5 },
    ];
    const evaluation = [
      { step: 20, loss: 4.2 },
      { step: 25, loss: 4.1 },
    ];
    expect(alignLossSeries(train, evaluation)).toEqual([
      [10, 20, 25, 30],
      [5, 4, null, 3.5],
      [null, 4.2, 4.1, null],
    ]);
  });
  it('orders steps that arrive out of order and turns non-finite losses into gaps', () => {
    expect(
      alignLossSeries(
        [
          { step: 2, loss: NaN },
          { step: 1, loss: 3 },
        ],
        [],
      ),
    ).toEqual([
      [1, 2],
      [3, null],
      [null, null],
    ]);
  });
  it('handles no points at all', () => {
    expect(alignLossSeries([], [])).toEqual([[], [], []]);
  });
});
