// A chart of cost against size as a standalone SVG: log scales on both axes
// (sizes go from 50 to 100,000 and costs over several decades), one polyline
// per series, labelled ticks at powers of ten. No dependency: BENCHMARKS.md
// links the file, and any browser or the repository host renders it.
import type { BenchSeries } from './result.ts';

const W = 720;
const H = 420;
const M = { left: 70, right: 190, top: 40, bottom: 50 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#7f7f7f'];

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** Decades covering [min, max] of positive values; a single value gets one decade either side. */
export function logDomain(values: readonly number[]): { lo: number; hi: number } {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (pos.length === 0) return { lo: 0, hi: 1 };
  let lo = Math.floor(Math.log10(Math.min(...pos)));
  let hi = Math.ceil(Math.log10(Math.max(...pos)));
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  return { lo, hi };
}

function tickLabel(exp: number): string {
  const v = 10 ** exp;
  return v >= 1000 ? v.toLocaleString('en-US') : String(Number(v.toPrecision(1)));
}

/** Renders the series (all sharing the first series' axis labels) as one SVG document. */
export function renderChart(title: string, series: readonly BenchSeries[]): string {
  const points = series.flatMap((s) => s.points.filter((p) => p.x > 0 && p.y > 0));
  const xd = logDomain(points.map((p) => p.x));
  const yd = logDomain(points.map((p) => p.y));
  const px = (x: number) => M.left + ((Math.log10(x) - xd.lo) / (xd.hi - xd.lo)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - ((Math.log10(y) - yd.lo) / (yd.hi - yd.lo)) * (H - M.top - M.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (let e = xd.lo; e <= xd.hi; e++) {
    const x = px(10 ** e).toFixed(1);
    out.push(`<line x1="${x}" y1="${M.top}" x2="${x}" y2="${H - M.bottom}" stroke="#ddd"/>`);
    out.push(`<text x="${x}" y="${H - M.bottom + 16}" text-anchor="middle">${tickLabel(e)}</text>`);
  }
  for (let e = yd.lo; e <= yd.hi; e++) {
    const y = py(10 ** e).toFixed(1);
    out.push(`<line x1="${M.left}" y1="${y}" x2="${W - M.right}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(e)}</text>`);
  }
  const first = series[0];
  if (first) {
    out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(first.xLabel)} (log)</text>`);
    out.push(`<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(first.yLabel)} (log)</text>`);
  }
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const pts = s.points.filter((p) => p.x > 0 && p.y > 0).sort((a, b) => a.x - b.x);
    const path = pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    if (pts.length > 1) out.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of pts) out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${colour}"/>`);
    const ly = M.top + 10 + i * 18;
    out.push(`<line x1="${W - M.right + 12}" y1="${ly}" x2="${W - M.right + 32}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    out.push(`<text x="${W - M.right + 38}" y="${ly}" dominant-baseline="middle">${escapeXml(s.title)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
