import sharp from 'sharp';
import { readdirSync, readFileSync } from 'node:fs';
import { resizeFast } from './resize-fast.js';
const dir = '/work/shared/fixtures/images';
const t1 = new Float32Array(3 * 260 * 260);
for (const f of readdirSync(dir).filter((f) => !f.endsWith('.json'))) {
  const { data, info } = await sharp(readFileSync(`${dir}/${f}`)).autoOrient().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const im = { data: process.env.COPY ? new Uint8Array(data) : data, width: info.width, height: info.height, channels: info.channels };
  for (let i = 0; i < 50; i++) resizeFast(im, t1, 0, 260, 260);
  const t0 = performance.now(); for (let i = 0; i < 200; i++) resizeFast(im, t1, 0, 260, 260);
  console.log(f, info.width, info.height, info.channels, ((performance.now() - t0) / 200).toFixed(3));
}
