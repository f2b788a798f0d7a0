// gantool browser example: run an exported generator with onnxruntime-web (WASM) and draw
// its digits on a canvas. The model's contract (see `gantool info model.onnx`):
//   inputs  z float32 [N, latent_dim] (+ label int64 [N] for conditional models)
//   output  image float32 [N, 1, 28, 28] in [0, 1]
// window.gantool.render(z, labels, nrow) draws given latents exactly as Python's
// Sampler.generate + grid would (same pixels up to rounding), which the test checks.
'use strict';

const PAD = 2; // same padding as gantool.runtime.grid.make_grid

// An absolute URL: the runtime imports its .mjs glue from here, and bare paths are not valid specifiers.
ort.env.wasm.wasmPaths = new URL('node_modules/onnxruntime-web/dist/', location.href).href;
ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one is plenty for 28x28 digits

// A small seeded PRNG (mulberry32) + Box-Muller for interactive use. Python's sampler uses
// numpy's PCG64, so pass latents explicitly (render) to reproduce its images.
function gaussianLatents(n, dim, seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const z = new Float32Array(n * dim);
  for (let i = 0; i < z.length; i++) {
    const u = Math.max(uniform(), 1e-12);
    z[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  }
  return z;
}

function drawGrid(canvas, pixels, n, nrow) {
  // pixels: Float32Array (n * 28 * 28) in [0, 1] -> grey tiles, PAD px apart, black background.
  const rows = Math.ceil(n / nrow);
  canvas.width = nrow * (28 + PAD) + PAD;
  canvas.height = rows * (28 + PAD) + PAD;
  canvas.style.width = `${canvas.width * 3}px`;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(canvas.width, canvas.height);
  for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255; // opaque black
  for (let k = 0; k < n; k++) {
    const x0 = PAD + (k % nrow) * (28 + PAD);
    const y0 = PAD + Math.floor(k / nrow) * (28 + PAD);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const v = Math.min(255, Math.max(0, Math.round(pixels[k * 784 + y * 28 + x] * 255)));
        const o = ((y0 + y) * canvas.width + (x0 + x)) * 4;
        img.data[o] = img.data[o + 1] = img.data[o + 2] = v;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
}

const state = { session: null, latentDim: 0, conditional: false };

async function load(url) {
  state.session = await ort.InferenceSession.create(url, { executionProviders: ['wasm'] });
  state.conditional = state.session.inputNames.includes('label');
  const meta = state.session.inputMetadata && state.session.inputMetadata[0];
  state.latentDim = meta && meta.shape ? Number(meta.shape[1]) : Number(new URL(location).searchParams.get('latent') || 64);
  return { latentDim: state.latentDim, conditional: state.conditional };
}

async function render(z, labels, nrow) {
  // z: flat array of n * latentDim numbers; labels: array of n ints (conditional models) or null.
  const n = z.length / state.latentDim;
  const feeds = { z: new ort.Tensor('float32', Float32Array.from(z), [n, state.latentDim]) };
  if (state.conditional) {
    feeds.label = new ort.Tensor('int64', BigInt64Array.from(labels.map((v) => BigInt(v))), [n]);
  }
  const { image } = await state.session.run(feeds);
  drawGrid(document.getElementById('canvas'), image.data, n, nrow || Math.ceil(Math.sqrt(n)));
  return n;
}

async function generateFromControls() {
  const n = Math.min(256, Math.max(1, Number(document.getElementById('n').value) || 64));
  const seed = Number(document.getElementById('seed').value) || 0;
  const digitText = document.getElementById('digit').value;
  const labels = state.conditional
    ? Array.from({ length: n }, (_, i) => (digitText === '' ? i % 10 : Number(digitText)))
    : null;
  await render(gaussianLatents(n, state.latentDim, seed), labels, null);
}

window.gantool = {
  render,
  ready: (async () => {
    const status = document.getElementById('status');
    try {
      const model = new URL(location).searchParams.get('model') || 'model.onnx';
      const info = await load(model);
      status.textContent = `model: ${model} — latent ${info.latentDim}, ${info.conditional ? 'conditional' : 'unconditional'}`;
      document.getElementById('go').disabled = false;
      document.getElementById('go').onclick = generateFromControls;
      await generateFromControls();
      return info;
    } catch (err) {
      status.textContent = `could not load the model: ${err}`;
      throw err;
    }
  })(),
};
