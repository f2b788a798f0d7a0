// gantool Node.js example: digits from a *seeded* gantool model (gantool export --seeded) with
// onnxruntime-node, written as a PNG grid. The graph computes each image's latent from its int64
// seed, so seed 7 here is seed 7 in Python (Sampler.sample) and in the browser: same pixels.
//
//   node sample.mjs MODEL.onnx [--seed 0] [--n 8] [--digit 3] [--out digits.png]
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import ort from 'onnxruntime-node';

const PAD = 2; // the padding of gantool.runtime.grid.make_grid

export async function sampleDigits(modelPath, { seed = 0, n = 8, digit = null } = {}) {
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
  if (!session.inputNames.includes('seed')) throw new Error(`${modelPath} is not a seeded model: export it with --seeded`);
  const feeds = { seed: new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, k) => BigInt(seed) + BigInt(k)), [n]) };
  if (session.inputNames.includes('label')) {
    const labels = Array.from({ length: n }, (_, k) => BigInt(digit ?? k % 10));
    feeds.label = new ort.Tensor('int64', BigInt64Array.from(labels), [n]);
  }
  const { image } = await session.run(feeds); // float32 [n, 1, 28, 28] in [0, 1]
  return image.data;
}

export function gridPng(pixels, n, nrow) {
  // Round like numpy's rint (half to even), tile like make_grid, encode an 8-bit greyscale PNG.
  const rows = Math.ceil(n / nrow), w = nrow * (28 + PAD) + PAD, h = rows * (28 + PAD) + PAD;
  const raw = Buffer.alloc((w + 1) * h); // each row: filter byte 0 + w pixels, background 0
  for (let k = 0; k < n; k++) {
    const x0 = PAD + (k % nrow) * (28 + PAD), y0 = PAD + Math.floor(k / nrow) * (28 + PAD);
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
      const v = pixels[k * 784 + y * 28 + x] * 255, r = Math.round(v);
      const even = Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : r; // half to even
      raw[(y0 + y) * (w + 1) + 1 + x0 + x] = Math.min(255, Math.max(0, even));
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 0; // 8-bit greyscale
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function crc32(buf) {
  let c = ~0;
  for (const byte of buf) { c ^= byte; for (let i = 0; i < 8; i++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1)); }
  return ~c >>> 0;
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : fallback; };
  const model = args[0];
  if (!model || model.startsWith('--')) throw new Error('usage: node sample.mjs MODEL.onnx [--seed S] [--n N] [--digit D] [--out F.png]');
  const n = Number(opt('n', 8)), seed = opt('seed', '0'), digit = opt('digit', null);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`--n must be an integer in 1..1024, got ${opt('n')}`);
  if (!/^\d+$/.test(seed) || BigInt(seed) + BigInt(n) > 2n ** 63n) throw new Error(`--seed must be an integer in 0..2^63-1, got ${seed}`);
  const pixels = await sampleDigits(model, { seed: BigInt(seed), n, digit: digit === null ? null : Number(digit) });
  const out = opt('out', 'digits.png');
  writeFileSync(out, gridPng(pixels, n, Math.min(n, Number(opt('nrow', 8)))));
  console.log(`wrote ${out}: ${n} digits, seeds ${seed}..${BigInt(seed) + BigInt(n) - 1n}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => { console.error(`error: ${e.message}`); process.exit(2); });
}
