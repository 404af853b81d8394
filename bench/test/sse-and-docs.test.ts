import { describe, expect, it } from 'vitest';
import { arrivalSchedule, seededRandom } from '../lib/open-loop.js';
import { cpuSignature, parseArgs, replaceSection } from '../lib/report.js';

describe('replaceSection', () => {
  it('replaces only the marked section and keeps the rest', () => {
    const doc = '# B\n\n<!-- a:start -->\nold a\n<!-- a:end -->\n\n<!-- b:start -->\nold b\n<!-- b:end -->\ntail\n';
    const out = replaceSection(doc, 'a', 'new a');
    expect(out).toBe('# B\n\n<!-- a:start -->\nnew a\n<!-- a:end -->\n\n<!-- b:start -->\nold b\n<!-- b:end -->\ntail\n');
  });

  it('appends a missing section and refuses a half-marked one', () => {
    expect(replaceSection('# B\n', 'seed', 'x')).toBe('# B\n\n<!-- seed:start -->\nx\n<!-- seed:end -->\n');
    expect(() => replaceSection('<!-- seed:start -->\n', 'seed', 'x')).toThrow(/one of its markers/);
  });
});

describe('arrivalSchedule', () => {
  it('spaces uniform arrivals evenly', () => {
    expect(arrivalSchedule(4, 1000, 'uniform', Math.random)).toEqual([0, 250, 500, 750]);
  });

  it('gives Poisson arrivals the requested mean rate, repeatably', () => {
    const a = arrivalSchedule(200, 60_000, 'poisson', seededRandom(7));
    expect(a).toEqual(arrivalSchedule(200, 60_000, 'poisson', seededRandom(7)));
    expect(a.length).toBeGreaterThan(200 * 60 * 0.97);
    expect(a.length).toBeLessThan(200 * 60 * 1.03);
    const gaps = a.slice(1).map((t, i) => t - (a[i] as number));
    // Exponential gaps: the standard deviation is about the mean (uniform would give 0).
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
    expect(sd / mean).toBeGreaterThan(0.9);
    expect(sd / mean).toBeLessThan(1.1);
  });
});

describe('parseArgs', () => {
  it('reads --name value, --name=value and bare flags', () => {
    const args = parseArgs(['--only', 'seed', '--runs=2', '--async', '--clients', '4,16']);
    expect(Object.fromEntries(args)).toEqual({ only: 'seed', runs: '2', async: 'true', clients: '4,16' });
    expect(() => parseArgs(['seed'])).toThrow(/unexpected/);
  });
});

describe('cpuSignature', () => {
  it('names the CPU family and model of the first processor in /proc/cpuinfo', () => {
    const cpuinfo = ['processor\t: 0', 'vendor_id\t: AuthenticAMD', 'cpu family\t: 26', 'model\t\t: 2', 'model name\t: AMD EPYC', 'stepping\t: 1', '', 'processor\t: 1', 'cpu family\t: 26', 'model\t\t: 2'].join('\n');
    expect(cpuSignature(cpuinfo)).toBe('family 26 model 2');
    expect(cpuSignature('cpu family\t: 25\n')).toBe('family 25');
    expect(cpuSignature('')).toBeUndefined();
  });
});
