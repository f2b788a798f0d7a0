// gantool browser example: run an exported generator with onnxruntime-web (WASM) and draw
// its digits on a canvas. The model's contract (see `gantool info model.onnx`):
//   inputs  z float32 [N, latent_dim] (+ label int64 [N] for conditional models)
//   output  image float32 [N, 1, 28, 28] in [0, 1]
// A *seeded* model (gantool export --seeded) takes seed int64 [N] instead of z and computes each
// image's latent inside the graph, so window.gantool.renderSeeds(seed, n, labels) draws what
// Python's Sampler.sample(n, seed=seed, labels=labels) gives, and Node.js too (the test checks).
// window.gantool.render(z, labels, nrow) draws given latents for an unseeded model.
'use strict';

const PAD = 2; // same padding as gantool.runtime.grid.make_grid

// An absolute URL: the runtime imports its .mjs glue from here, and bare paths are not valid specifiers.
ort.env.wasm.wasmPaths = new URL('node_modules/onnxruntime-web/dist/', location.href).href;
ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one is plenty for 28x28 digits

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

const state = { session: null, latentDim: 0, conditional: false, seeded: false };

// ?model= names a model file on this server by a relative path, nothing else: no other origin, no
// data: or blob: URL, no absolute path (a link to this page must not run someone else's model).
// To load models from elsewhere, change this function on purpose.
function modelUrl(name) {
  const url = new URL(name, location.href);
  if (!/^[\w][\w.\/-]*\.(onnx|ort)$/.test(name) || name.includes('//') || url.origin !== location.origin) {
    throw new Error(`?model= must be a relative path to an .onnx or .ort file on this server, got ${JSON.stringify(name.slice(0, 80))}`);
  }
  return url.href;
}

async function load(url) {
  state.session = await ort.InferenceSession.create(url, { executionProviders: ['wasm'] });
  state.conditional = state.session.inputNames.includes('label');
  state.seeded = state.session.inputNames.includes('seed');
  const meta = state.session.inputMetadata && state.session.inputMetadata[0];
  state.latentDim = state.seeded ? 0 : meta && meta.shape ? Number(meta.shape[1]) : Number(new URL(location).searchParams.get('latent') || 64);
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

async function renderSeeds(seed, n, labels, nrow) {
  // Image k uses seed + k (a BigInt-safe int64), as the Python sampler does.
  const feeds = { seed: new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, k) => BigInt(seed) + BigInt(k)), [n]) };
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
  if (!state.seeded) {
    document.getElementById('status').textContent = 'this model takes latents: export it with --seeded to sample by seed';
    return;
  }
  await renderSeeds(Math.max(0, Math.floor(seed)), n, labels, null);
}

window.gantool = {
  render,
  renderSeeds,
  ready: (async () => {
    const status = document.getElementById('status');
    try {
      const model = new URL(location).searchParams.get('model') || 'model.onnx';
      const info = await load(modelUrl(model));
      status.textContent = `model: ${model} — ${state.seeded ? 'seeded' : `latent ${info.latentDim}`}, ${info.conditional ? 'conditional' : 'unconditional'}`;
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
