static void apply_table(const uint8_t *x, int n, const uint8_t table[256], uint8_t *y)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = table[x[i]];
}
