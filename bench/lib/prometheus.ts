/** A Prometheus histogram as exposed in the text format: cumulative buckets, sum and count. */
export interface HistogramSnapshot {
  /** upper bounds in ascending order, `+Inf` last, with cumulative counts */
  buckets: Array<{ le: number; count: number }>;
  sum: number;
  count: number;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/**
 * Reads histogram `name` from Prometheus text exposition. Series with other labels (beside `le`)
 * are added together, so a histogram split by label reads as one. Absent: all zero.
 */
export function parseHistogram(text: string, name: string): HistogramSnapshot {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, metric, labels = '', value = ''] = match;
    if (metric === `${name}_bucket`) {
      const le = /(?:^|[{,])\s*le="([^"]*)"/.exec(labels)?.[1];
      if (le === undefined) continue;
      const bound = parseValue(le);
      byLe.set(bound, (byLe.get(bound) ?? 0) + parseValue(value));
    } else if (metric === `${name}_sum`) sum += parseValue(value);
    else if (metric === `${name}_count`) count += parseValue(value);
  }
  const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c }));
  return { buckets, sum, count };
}

/** A counter's value (all label sets added), 0 when absent. */
export function parseCounter(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line.trim());
    if (match && match[1] === name) total += parseValue(match[3] as string);
  }
  return total;
}

/** after − before, bucket by bucket (the observations made in between). */
export function histogramDelta(after: HistogramSnapshot, before: HistogramSnapshot): HistogramSnapshot {
  const earlier = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** Adds histograms with the same buckets (e.g. one per worker). */
export function histogramSum(list: readonly HistogramSnapshot[]): HistogramSnapshot {
  const byLe = new Map<number, number>();
  for (const h of list) for (const b of h.buckets) byLe.set(b.le, (byLe.get(b.le) ?? 0) + b.count);
  return {
    buckets: [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count })),
    sum: list.reduce((s, h) => s + h.sum, 0),
    count: list.reduce((s, h) => s + h.count, 0),
  };
}

/** Observations per bucket (not cumulative), labelled by range, e.g. `3–4` or `>64`; empty buckets left out. */
export function histogramDistribution(h: HistogramSnapshot): Array<{ range: string; count: number }> {
  const out: Array<{ range: string; count: number }> = [];
  let previous = 0;
  let lower: number | undefined;
  for (const b of h.buckets) {
    const n = b.count - previous;
    previous = b.count;
    const from = lower === undefined ? undefined : Math.floor(lower) + 1;
    let range: string;
    if (b.le === Number.POSITIVE_INFINITY) range = `>${lower ?? 0}`;
    else if (from === undefined || from >= b.le) range = String(b.le);
    else range = `${from}–${b.le}`;
    if (n > 0) out.push({ range, count: n });
    lower = b.le;
  }
  return out;
}

export async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}
