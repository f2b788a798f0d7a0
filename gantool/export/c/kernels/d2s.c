static void depth_to_space(const uint8_t *x, int c, int h, int w, int b, int dcr, uint8_t *y)
{
    const int co = c / (b * b);
    int oc, yy, xx, i, j;
    for (oc = 0; oc < co; ++oc)
        for (i = 0; i < b; ++i)
            for (j = 0; j < b; ++j) {
                const int ic = dcr ? (i * b + j) * co + oc : oc * b * b + i * b + j;
                for (yy = 0; yy < h; ++yy)
                    for (xx = 0; xx < w; ++xx)
                        y[((size_t)oc * (size_t)(h * b) + (size_t)(yy * b + i)) * (size_t)(w * b) + (size_t)(xx * b + j)] =
                            x[((size_t)ic * (size_t)h + (size_t)yy) * (size_t)w + (size_t)xx];
            }
}

