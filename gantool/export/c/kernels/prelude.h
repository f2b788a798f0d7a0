/* What a generated gantool_generator.c declares before its kernels: the tests compile each kernel
 * file after this prelude, with warnings as errors (tests/export/c/test_kernels.py). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

static int32_t acc[1];
