// gantool Node.js example: digits from a *seeded* gantool model (gantool export --seeded) with
// onnxruntime-node, written as a PNG grid. The graph computes each image's latent from its int64
// seed, so seed 7 here is seed 7 in Python (Sampler.sample) and in the browser: same pixels.
//
//   node sample.mjs [MODEL.onnx] [--seed 0] [--n 8] [--digit 3] [--nrow R] [--out digits.png]
//   (--nrow: images per row; default ceil(sqrt(n)), as Python's Sampler.grid)
//
// Without MODEL it uses the pretrained model bundled with gantool (gantool/runtime/models/).
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

// onnxruntime writes a telemetry device ID under ~/.cache/Microsoft/DeveloperTools/ when its native
// library loads, unless this is set first (so onnxruntime-node is imported below, not at the top).
process.env.ORT_DISABLE_TELEMETRY ??= '1';
const ort = await import('onnxruntime-node').then((m) => m.default, (e) => {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  console.error('error: onnxruntime-node is not installed; run `npm ci --ignore-scripts` in examples/node first');
  process.exit(2);
});

const PAD = 2; // the padding of gantool.runtime.grid.make_grid
export const BUNDLED = fileURLToPath(new URL('../../gantool/runtime/models/digits.seeded.fp16.onnx', import.meta.url));
const USAGE = 'usage: node sample.mjs [MODEL.onnx] [--seed S] [--n N] [--digit D] [--nrow R] [--out F.png]';
const OPTIONS = ['seed', 'n', 'digit', 'nrow', 'out'];

export async function sampleDigits(modelPath, { seed = 0, n = 8, digit = null } = {}) {
  // logSeverityLevel 3: errors only (a seeded file's optional `truncation` input draws a warning otherwise).
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'], logSeverityLevel: 3 });
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

/** The command line as the Python CLI reads it: one-line errors naming the option, exit 2. */
export function parseArgs(args) {
  const opts = { model: BUNDLED, seed: '0', n: '8', digit: null, nrow: null, out: 'digits.png' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--')) {
      const name = a.slice(2);
      if (!OPTIONS.includes(name)) throw new Error(`no such option: ${a} (${USAGE})`);
      if (i + 1 >= args.length || args[i + 1].startsWith('--')) throw new Error(`option ${a} requires an argument`);
      opts[name] = args[++i];
    } else if (i === 0) {
      opts.model = a;
    } else {
      throw new Error(`unexpected argument ${JSON.stringify(a)} (${USAGE})`);
    }
  }
  const int = (name, lo, hi) => {
    const text = String(opts[name]);
    if (!/^-?\d+$/.test(text) || BigInt(text) < BigInt(lo) || BigInt(text) > BigInt(hi)) {
      throw new Error(`--${name} must be an integer in ${lo}..${hi}, got ${text}`);
    }
    return BigInt(text);
  };
  const n = Number(int('n', 1, 1024));
  const seed = int('seed', 0, 2n ** 63n - 1n);
  if (seed + BigInt(n) - 1n > 2n ** 63n - 1n) throw new Error(`--seed + --n - 1 must stay within int64, got ${seed}`);
  const digit = opts.digit === null ? null : Number(int('digit', 0, 9)); // ONNX Gather would wrap -1 to 9
  // no --nrow: ceil(sqrt(n)) per row, as gantool.runtime.grid.make_grid (Python's grid of 8 is 3 x 3 too)
  const nrow = opts.nrow === null ? Math.max(1, Math.ceil(Math.sqrt(n))) : Number(int('nrow', 1, 1024));
  if (!existsSync(opts.model)) throw new Error(`${opts.model} does not exist`);
  return { model: opts.model, seed, n, digit, nrow: Math.min(n, nrow), out: opts.out };
}

async function main() {
  const { model, seed, n, digit, nrow, out } = parseArgs(process.argv.slice(2));
  const pixels = await sampleDigits(model, { seed, n, digit });
  writeFileSync(out, gridPng(pixels, n, nrow));
  console.log(`wrote ${out}: ${n} digits, seeds ${seed}..${seed + BigInt(n) - 1n}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => { console.error(`error: ${e.message.split('\n')[0]}`); process.exit(2); });
}
