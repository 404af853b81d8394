import sharp from 'sharp';
import { readdirSync, readFileSync } from 'node:fs';
import { resizeBilinearToPlanar } from '../src/detector/preprocess/resize.js';
import { resizeFast } from './resize-fast.js';
import { resizeInt } from './resize-int.js';
const dir = '/work/shared/fixtures/images';
const imgs = [];
for (const f of readdirSync(dir).filter((f) => !f.endsWith('.json'))) {
  const { data, info } = await sharp(readFileSync(`${dir}/${f}`)).autoOrient().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  imgs.push({ data, width: info.width, height: info.height, channels: info.channels });
}
const t1 = new Float32Array(3 * 260 * 260), t2 = new Float32Array(3 * 260 * 260);
for (const im of imgs) { resizeBilinearToPlanar(im, t1, 0, 260, 260); (process.env.INT ? resizeInt : resizeFast)(im, t2, 0, 260, 260); let nd = 0; for (let i = 0; i < t1.length; i++) if (t1[i] !== t2[i]) nd++; if (nd) console.log('ndiff', im.width, nd); for (let i = 0; i < t1.length; i++) if (t1[i] !== t2[i]) { console.log('DIFF', im.width, im.height, im.channels, i, t1[i], t2[i]); break; } }
for (let rep = 0; rep < 3; rep++) {
  for (const [name, fn] of [['old', resizeBilinearToPlanar], ['new', resizeFast], ['int', resizeInt]] as const) {
    const t0 = performance.now(); let n = 0;
    while (performance.now() - t0 < 1500) { for (const im of imgs) { fn(im, t1, 0, 260, 260); n++; } }
    console.log(name, ((performance.now() - t0) / n).toFixed(3), 'ms/image');
  }
}
