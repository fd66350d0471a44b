/**
 * A small line plot of perturbation curves into an RGBA buffer (no canvas, no fonts): axes with tick
 * labels in a 5×7 bitmap font, one coloured line per method, the random baseline in dashed grey, and
 * a legend of colour swatches numbered as the CLI's table rows (R = random).
 */

export type Rgb = readonly [number, number, number];

/** Tableau 10 without grey (kept for the random baseline). */
export const PLOT_COLORS: readonly { name: string; rgb: Rgb }[] = [
  { name: 'blue', rgb: [31, 119, 180] },
  { name: 'orange', rgb: [255, 127, 14] },
  { name: 'green', rgb: [44, 160, 44] },
  { name: 'red', rgb: [214, 39, 40] },
  { name: 'purple', rgb: [148, 103, 189] },
  { name: 'brown', rgb: [140, 86, 75] },
  { name: 'pink', rgb: [227, 119, 194] },
  { name: 'olive', rgb: [188, 189, 34] },
  { name: 'cyan', rgb: [23, 190, 207] },
];
export const RANDOM_COLOR: { name: string; rgb: Rgb } = { name: 'grey', rgb: [127, 127, 127] };

export interface PlotSeries {
  values: ArrayLike<number>;
  rgb: Rgb;
  /** legend key (the CLI table's row number, or R) */
  key: string;
  /** legend text after the key: the method's name */
  name?: string;
  dashed?: boolean;
}

export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}

const GLYPHS: Record<string, readonly string[]> = {
  '0': ['01110', '10001', '10011', '10101', '11001', '10001', '01110'],
  '1': ['00100', '01100', '00100', '00100', '00100', '00100', '01110'],
  '2': ['01110', '10001', '00001', '00010', '00100', '01000', '11111'],
  '3': ['11111', '00010', '00100', '00010', '00001', '10001', '01110'],
  '4': ['00010', '00110', '01010', '10010', '11111', '00010', '00010'],
  '5': ['11111', '10000', '11110', '00001', '00001', '10001', '01110'],
  '6': ['00110', '01000', '10000', '11110', '10001', '10001', '01110'],
  '7': ['11111', '00001', '00010', '00100', '01000', '01000', '01000'],
  '8': ['01110', '10001', '10001', '01110', '10001', '10001', '01110'],
  '9': ['01110', '10001', '10001', '01111', '00001', '00010', '01100'],
  '-': ['00000', '00000', '00000', '11111', '00000', '00000', '00000'],
  '+': ['00000', '00100', '00100', '11111', '00100', '00100', '00000'],
  '.': ['00000', '00000', '00000', '00000', '00000', '01100', '01100'],
  'e': ['00000', '00000', '01110', '10001', '11111', '10000', '01110'],
  'R': ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
  ' ': ['00000', '00000', '00000', '00000', '00000', '00000', '00000'],
  // lower case and punctuation for axis titles and method names in the legend (upper case falls back to it)
  'a': ['00000', '00000', '01110', '00001', '01111', '10001', '01111'],
  'b': ['10000', '10000', '10110', '11001', '10001', '10001', '11110'],
  'c': ['00000', '00000', '01110', '10000', '10000', '10001', '01110'],
  'd': ['00001', '00001', '01101', '10011', '10001', '10001', '01111'],
  'f': ['00110', '01001', '01000', '11100', '01000', '01000', '01000'],
  'g': ['00000', '01111', '10001', '10001', '01111', '00001', '01110'],
  'h': ['10000', '10000', '10110', '11001', '10001', '10001', '10001'],
  'i': ['00100', '00000', '01100', '00100', '00100', '00100', '01110'],
  'j': ['00010', '00000', '00110', '00010', '00010', '10010', '01100'],
  'k': ['10000', '10000', '10010', '10100', '11000', '10100', '10010'],
  'l': ['01100', '00100', '00100', '00100', '00100', '00100', '01110'],
  'm': ['00000', '00000', '11010', '10101', '10101', '10001', '10001'],
  'n': ['00000', '00000', '10110', '11001', '10001', '10001', '10001'],
  'o': ['00000', '00000', '01110', '10001', '10001', '10001', '01110'],
  'p': ['00000', '00000', '11110', '10001', '11110', '10000', '10000'],
  'q': ['00000', '00000', '01101', '10011', '01111', '00001', '00001'],
  'r': ['00000', '00000', '10110', '11001', '10000', '10000', '10000'],
  's': ['00000', '00000', '01110', '10000', '01110', '00001', '11110'],
  't': ['01000', '01000', '11100', '01000', '01000', '01001', '00110'],
  'u': ['00000', '00000', '10001', '10001', '10001', '10011', '01101'],
  'v': ['00000', '00000', '10001', '10001', '10001', '01010', '00100'],
  'w': ['00000', '00000', '10001', '10001', '10101', '10101', '01010'],
  'x': ['00000', '00000', '10001', '01010', '00100', '01010', '10001'],
  'y': ['00000', '00000', '10001', '10001', '01111', '00001', '01110'],
  'z': ['00000', '00000', '11111', '00010', '00100', '01000', '11111'],
  ':': ['00000', '01100', '01100', '00000', '01100', '01100', '00000'],
  '(': ['00010', '00100', '01000', '01000', '01000', '00100', '00010'],
  ')': ['01000', '00100', '00010', '00010', '00010', '00100', '01000'],
  '/': ['00000', '00001', '00010', '00100', '01000', '10000', '00000'],
  ',': ['00000', '00000', '00000', '00000', '01100', '00100', '01000'],
  '_': ['00000', '00000', '00000', '00000', '00000', '00000', '11111'],
  '=': ['00000', '00000', '11111', '00000', '11111', '00000', '00000'],
  '^': ['00100', '01010', '10001', '00000', '00000', '00000', '00000'],
};

class Canvas implements RgbaImage {
  readonly rgba: Uint8Array;
  constructor(readonly width: number, readonly height: number) {
    this.rgba = new Uint8Array(width * height * 4).fill(255);
  }

  set(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    this.rgba[i] = c[0];
    this.rgba[i + 1] = c[1];
    this.rgba[i + 2] = c[2];
    this.rgba[i + 3] = 255;
  }

  rect(x0: number, y0: number, w: number, h: number, c: Rgb): void {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) this.set(x, y, c);
  }

  /** A line of the given thickness; `dash` = [on, off] lengths in pixels along the line. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = 1, dash?: [number, number], phase = 0): number {
    const len = Math.hypot(x1 - x0, y1 - y0);
    const n = Math.max(1, Math.ceil(len * 2));
    const r = thick <= 1 ? 0 : thick / 2;
    for (let i = 0; i <= n; i++) {
      const t = i / n;
      const along = phase + t * len;
      if (dash && along % (dash[0] + dash[1]) >= dash[0]) continue;
      const x = x0 + t * (x1 - x0);
      const y = y0 + t * (y1 - y0);
      for (let dy = -Math.ceil(r); dy <= Math.ceil(r); dy++) {
        for (let dx = -Math.ceil(r); dx <= Math.ceil(r); dx++) if (dx * dx + dy * dy <= r * r) this.set(x + dx, y + dy, c);
      }
    }
    return phase + len;
  }

  /** Text in the 5×7 font at (x, y) = top-left, `scale` pixels per font pixel; returns the width. */
  text(s: string, x: number, y: number, c: Rgb, scale = 1): number {
    let cx = x;
    for (const ch of s) {
      const g = GLYPHS[ch] ?? GLYPHS[ch.toLowerCase()] ?? (ch === '×' ? GLYPHS.x : GLYPHS[' ']);
      for (let row = 0; row < 7; row++) {
        for (let col = 0; col < 5; col++) if (g[row][col] === '1') this.rect(cx + col * scale, y + row * scale, scale, scale, c);
      }
      cx += 6 * scale;
    }
    return cx - x - scale;
  }
}

export function textWidth(s: string, scale = 1): number {
  return s.length === 0 ? 0 : (6 * s.length - 1) * scale;
}

/** A tick label: up to 3 significant digits, short. */
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-2) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

/** "Nice" tick positions covering [lo, hi] (about `count` of them). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

const BLACK: Rgb = [0, 0, 0];
const AXIS_GREY: Rgb = [225, 225, 225];

/** Plots curves over x = 0..n−1 (the perturbation step). */
export function plotCurves(series: PlotSeries[], opts: { width?: number; height?: number; xLabel?: string; yLabel?: string } = {}): RgbaImage {
  const width = opts.width ?? 640;
  const height = opts.height ?? 400;
  const cv = new Canvas(width, height);
  const n = Math.max(1, ...series.map((s) => s.values.length));
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i];
      if (!Number.isFinite(v)) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (!Number.isFinite(lo)) {
    lo = 0;
    hi = 1;
  }
  if (hi - lo < 1e-9 * Math.max(1, Math.abs(hi))) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = 0.04 * (hi - lo);
  lo -= pad;
  hi += pad;
  const yTicks = niceTicks(lo, hi);
  const xTicks = niceTicks(0, n - 1).filter((v) => Number.isInteger(v));
  const labelW = Math.max(...yTicks.map((v) => textWidth(tickLabel(v))));
  const left = labelW + 14;
  const right = width - 12;
  const top = opts.yLabel ? 24 : 12;
  const bottom = height - (opts.xLabel ? 36 : 22);
  const px = (i: number): number => left + (n <= 1 ? 0 : (i / (n - 1)) * (right - left));
  const py = (v: number): number => bottom - ((v - lo) / (hi - lo)) * (bottom - top);
  // grid, axes, ticks
  for (const v of yTicks) {
    cv.line(left + 1, py(v), right, py(v), AXIS_GREY);
    cv.line(left - 4, py(v), left, py(v), BLACK);
    const s = tickLabel(v);
    cv.text(s, left - 7 - textWidth(s), Math.round(py(v)) - 3, BLACK);
  }
  for (const v of xTicks) {
    cv.line(px(v), bottom, px(v), bottom + 4, BLACK);
    const s = tickLabel(v);
    cv.text(s, Math.round(px(v) - textWidth(s) / 2), bottom + 8, BLACK);
  }
  cv.line(left, top, left, bottom, BLACK);
  cv.line(left, bottom, right, bottom, BLACK);
  // axis titles: y above its axis (no rotated text), x centred below the tick labels
  if (opts.yLabel) cv.text(opts.yLabel, Math.max(2, left - 10), 8, BLACK);
  if (opts.xLabel) cv.text(opts.xLabel, Math.round((left + right - textWidth(opts.xLabel)) / 2), bottom + 20, BLACK);
  // curves: the dashed ones (random) first, methods on top
  const ordered = [...series.filter((s) => s.dashed), ...series.filter((s) => !s.dashed)];
  for (const s of ordered) {
    let phase = 0;
    for (let i = 1; i < s.values.length; i++) {
      const a = s.values[i - 1];
      const b = s.values[i];
      if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
      phase = cv.line(px(i - 1), py(a), px(i), py(b), s.rgb, 2, s.dashed ? [6, 4] : undefined, phase);
    }
  }
  // legend, top right, on white
  const rowH = 20;
  const label = (s: PlotSeries): string => (s.name ? `${s.key} ${s.name}` : s.key);
  // names at double size when the legend stays within half the plot, else at font size
  const big = Math.max(...series.map((s) => textWidth(label(s), 2)), 0) <= (right - left) / 2;
  const ts = big ? 2 : 1;
  const keyW = Math.max(...series.map((s) => textWidth(label(s), ts)), 0);
  const boxW = 22 + 6 + keyW + 12;
  const boxH = series.length * rowH + 8;
  const bx = right - boxW - 4;
  const by = top + 4;
  if (series.length > 0) {
    cv.rect(bx, by, boxW, boxH, [255, 255, 255]);
    cv.line(bx, by, bx + boxW, by, BLACK);
    cv.line(bx, by + boxH, bx + boxW, by + boxH, BLACK);
    cv.line(bx, by, bx, by + boxH, BLACK);
    cv.line(bx + boxW, by, bx + boxW, by + boxH, BLACK);
    series.forEach((s, i) => {
      const y = by + 7 + i * rowH;
      if (s.dashed) {
        cv.rect(bx + 6, y + 5, 8, 4, s.rgb);
        cv.rect(bx + 18, y + 5, 8, 4, s.rgb);
      } else cv.rect(bx + 6, y + 2, 20, 10, s.rgb);
      cv.text(label(s), bx + 32, y + (big ? 0 : 3), BLACK, ts);
    });
  }
  return cv;
}
