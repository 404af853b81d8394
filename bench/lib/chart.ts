/** One system's latency-vs-throughput curve: achieved req/s against latency percentiles (ms). */
export interface ChartSeries {
  name: string;
  color: string;
  points: { rps: number; p50: number; p99: number; offered: number }[];
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** "Nice" tick step for a linear axis. */
export function niceStep(range: number, targetTicks = 6): number {
  const raw = range / targetTicks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/**
 * A self-contained SVG: x = achieved throughput (req/s), y = latency on a log scale; p99 solid,
 * p50 dashed, one colour per system. Written by hand so no plotting dependency is needed.
 */
export function latencyThroughputSvg(series: readonly ChartSeries[], title: string): string {
  const width = 760;
  const height = 440;
  const m = { left: 70, right: 170, top: 40, bottom: 50 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(1, ...all.map((p) => p.rps));
  const xStep = niceStep(maxX);
  const xMax = Math.ceil(maxX / xStep) * xStep;
  const ys = all.flatMap((p) => [p.p50, p.p99]).filter((v) => v > 0 && Number.isFinite(v));
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...ys, 10)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys, 100)));
  const x = (v: number): number => m.left + (v / xMax) * plotW;
  const y = (v: number): number => m.top + plotH - ((Math.log10(Math.max(v, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${m.left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let v = 0; v <= xMax + 1e-9; v += xStep) {
    parts.push(`<line x1="${x(v)}" y1="${m.top}" x2="${x(v)}" y2="${m.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${x(v)}" y="${m.top + plotH + 16}" text-anchor="middle">${+v.toFixed(6)}</text>`);
  }
  for (let v = yMin; v <= yMax * 1.0001; v *= 10) {
    for (const k of [1, 2, 5]) {
      const t = v * k;
      if (t > yMax * 1.0001) break;
      parts.push(`<line x1="${m.left}" y1="${y(t)}" x2="${m.left + plotW}" y2="${y(t)}" stroke="${k === 1 ? '#ddd' : '#f3f3f3'}"/>`);
      parts.push(`<text x="${m.left - 6}" y="${y(t) + 4}" text-anchor="end">${t >= 1000 ? `${t / 1000} s` : `${t} ms`}</text>`);
    }
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${m.left + plotW / 2}" y="${height - 12}" text-anchor="middle">achieved throughput (requests/s)</text>`);
  parts.push(`<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency (log scale)</text>`);

  let legendY = m.top + 10;
  for (const s of series) {
    const pts = [...s.points].sort((a, b) => a.offered - b.offered);
    for (const [key, dash] of [['p99', ''], ['p50', ' stroke-dasharray="5 4"']] as const) {
      const path = pts.map((p) => `${x(p.rps).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
      for (const p of pts) {
        parts.push(`<circle cx="${x(p.rps).toFixed(1)}" cy="${y(p[key]).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.name)} ${key}: ${p[key].toFixed(0)} ms at ${p.rps.toFixed(1)} req/s (offered ${p.offered})</title></circle>`);
      }
      const lx = m.left + plotW + 14;
      parts.push(`<line x1="${lx}" y1="${legendY}" x2="${lx + 26}" y2="${legendY}" stroke="${s.color}" stroke-width="2"${dash}/>`);
      parts.push(`<text x="${lx + 32}" y="${legendY + 4}">${esc(s.name)} ${key}</text>`);
      legendY += 20;
    }
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
