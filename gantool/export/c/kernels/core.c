/* ---- integer kernels: onnxruntime's QDQ arithmetic (see gantool/export/c/lower.py) ---- */
static uint8_t requantize(int32_t acc, float multiplier, int32_t zp)
{
    float v = (float)acc * multiplier;
    const float lo = (float)(0 - zp), hi = (float)(255 - zp);
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    return (uint8_t)((int32_t)rintf(v) + zp); /* round half to even (the default rounding mode) */
}

static void quantize_latent(const float *z, int n, float scale, int32_t zp, uint8_t *out)
{
    int i;
    for (i = 0; i < n; ++i) {
        float v = z[i] / scale;
        const float lo = (float)(0 - zp), hi = (float)(255 - zp);
        if (v < lo) v = lo;
        if (v > hi) v = hi;
        out[i] = (uint8_t)((int32_t)rintf(v) + zp);
    }
}

static void gemm(const uint8_t *x, int k, int n, const int8_t *w, const int32_t *bias, int32_t x_zp,
                 const float *multiplier, int32_t y_zp, uint8_t *y)
{
    int o, i;
    for (o = 0; o < n; ++o) {
        const int8_t *row = w + (size_t)o * (size_t)k;
        int32_t acc = bias[o];
        for (i = 0; i < k; ++i) acc += ((int32_t)x[i] - x_zp) * (int32_t)row[i];
        y[o] = requantize(acc, multiplier[o], y_zp);
    }
}

/* Weight by weight over the whole output plane (zero weights skipped: the sub-pixel convolutions are
 * 5/9 zeros), the int32 sums in acc[]: integer addition in any order gives the same sums. */
static void conv2d(const uint8_t *x, int c_in, int h, int w, const int8_t *wt, const int32_t *bias, int c_out,
                   int kh, int kw, int pad_top, int pad_left, int stride_h, int stride_w, int oh, int ow,
                   int32_t x_zp, const float *multiplier, int32_t y_zp, uint8_t *y)
{
    const int plane = oh * ow;
    int o, oy, ox, c, ky, kx, p;
    for (o = 0; o < c_out; ++o) {
        const int8_t *wo = wt + (size_t)o * (size_t)(c_in * kh * kw);
        for (p = 0; p < plane; ++p) acc[p] = bias[o];
        for (c = 0; c < c_in; ++c) {
            const uint8_t *xc = x + (size_t)c * (size_t)(h * w);
            for (ky = 0; ky < kh; ++ky) {
                for (kx = 0; kx < kw; ++kx) {
                    const int32_t wv = wo[(c * kh + ky) * kw + kx];
                    int lo = 0, hi = ow;
                    if (wv == 0) continue;
                    if (stride_w == 1) { /* the output columns whose input column is inside the image */
                        if (pad_left - kx > lo) lo = pad_left - kx;
                        if (w + pad_left - kx < hi) hi = w + pad_left - kx;
                    }
                    for (oy = 0; oy < oh; ++oy) {
                        const int iy = oy * stride_h + ky - pad_top;
                        const uint8_t *xrow;
                        int32_t *arow;
                        if (iy < 0 || iy >= h) continue; /* padding reads x_zp: adds 0 */
                        xrow = xc + (size_t)iy * (size_t)w;
                        arow = acc + (size_t)oy * (size_t)ow;
                        if (stride_w == 1) {
                            const int shift = kx - pad_left;
                            for (ox = lo; ox < hi; ++ox) arow[ox] += ((int32_t)xrow[ox + shift] - x_zp) * wv;
                        } else {
                            for (ox = 0; ox < ow; ++ox) {
                                const int ix = ox * stride_w + kx - pad_left;
                                if (ix >= 0 && ix < w) arow[ox] += ((int32_t)xrow[ix] - x_zp) * wv;
                            }
                        }
                    }
                }
            }
        }
        for (p = 0; p < plane; ++p) y[(size_t)o * (size_t)plane + (size_t)p] = requantize(acc[p], multiplier[o], y_zp);
    }
}

