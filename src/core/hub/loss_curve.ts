// The loss curve as a PNG for a model card: training loss (and evaluation loss where measured) against the step,
// drawn into an RGBA raster and encoded by fast-png. No canvas: it runs the same in Node and in a worker.
import { encode } from 'fast-png';
import type { LossPoint } from '../checkpoint/training_state.ts';

type Rgba = [number, number, number, number];
const BACKGROUND: Rgba = [255, 255, 255, 255];
const AXIS: Rgba = [120, 120, 120, 255];
const GRID: Rgba = [232, 232, 232, 255];
const TRAIN: Rgba = [214, 96, 39, 255];
const EVAL: Rgba = [38, 110, 200, 255];

class Raster {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) this.data.set(BACKGROUND, i * 4);
  }
  dot(x: number, y: number, c: Rgba, r = 0): void {
    for (let dy = -r; dy <= r; dy++)
      for (let dx = -r; dx <= r; dx++) {
        const px = Math.round(x) + dx;
        const py = Math.round(y) + dy;
        if (px >= 0 && py >= 0 && px < this.width && py < this.height) this.data.set(c, (py * this.width + px) * 4);
      }
  }
  /** A straight line, one dot per pixel step along its longer side. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgba, r = 0): void {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let i = 0; i <= n; i++) this.dot(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, c, r);
  }
}

/** The series of `metric` in the history: the points where it is a finite number. */
function series(history: LossPoint[], metric: string): [number, number][] {
  return history.filter((p) => Number.isFinite(p[metric])).map((p) => [p.step, p[metric]]);
}

/**
 * A PNG of the run's loss (orange) and eval_loss (blue) by step, on a light grid; null when the history holds
 * fewer than two points to draw.
 */
export function lossCurvePng(history: LossPoint[], width = 640, height = 360): Uint8Array | null {
  const lines: [[number, number][], Rgba][] = [
    [series(history, 'loss'), TRAIN],
    [series(history, 'eval_loss'), EVAL],
  ];
  const all = lines.flatMap(([s]) => s);
  if (all.length < 2) return null;
  const [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const pad = 24;
  const img = new Raster(width, height);
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const sy = (y: number) => height - pad - ((y - y0) / (y1 - y0 || 1)) * (height - 2 * pad);
  for (let i = 0; i <= 4; i++) {
    const y = pad + (i * (height - 2 * pad)) / 4;
    img.line(pad, y, width - pad, y, GRID);
  }
  img.line(pad, pad, pad, height - pad, AXIS);
  img.line(pad, height - pad, width - pad, height - pad, AXIS);
  for (const [points, color] of lines) {
    for (let i = 1; i < points.length; i++)
      img.line(sx(points[i - 1][0]), sy(points[i - 1][1]), sx(points[i][0]), sy(points[i][1]), color, 1);
    if (points.length === 1) img.dot(sx(points[0][0]), sy(points[0][1]), color, 2);
  }
  return encode({ width, height, data: img.data, channels: 4, depth: 8 });
}
