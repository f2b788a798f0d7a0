/* Phase (a, b) of a stride-2 up-sampling: its (c, h, w) plane goes to rows 2m + a, columns 2n + b. */
static void place_phase(const uint8_t *x, int c, int h, int w, int a, int b, uint8_t *y)
{
    int ch, i, j;
    for (ch = 0; ch < c; ++ch)
        for (i = 0; i < h; ++i)
            for (j = 0; j < w; ++j)
                y[((size_t)ch * (size_t)(2 * h) + (size_t)(2 * i + a)) * (size_t)(2 * w) + (size_t)(2 * j + b)] =
                    x[((size_t)ch * (size_t)h + (size_t)i) * (size_t)w + (size_t)j];
}
