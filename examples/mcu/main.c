/* A digit from a seed on a microcontroller: gantool_generate(SEED, LABEL, image), drawn as ASCII art
 * over UART0 with the timer ticks it took. Build and run: make -C examples/mcu run SEED=7 LABEL=3 */
#include <stdint.h>

#include "board.h"
#include "gantool_generator.h"

#ifndef SEED
#define SEED 7
#endif
#ifndef LABEL
#define LABEL 3
#endif

static uint8_t image[GANTOOL_IMAGE_SIZE];

int main(void)
{
    static const char shades[] = " .:-=+*#%@";
    uint32_t start, ticks;
    int rc, y, x;

    board_init();
    start = board_ticks();
    rc = gantool_generate(SEED, GANTOOL_NUM_CLASSES ? LABEL : GANTOOL_NO_LABEL, image);
    ticks = board_ticks() - start;
    if (rc != GANTOOL_OK) {
        board_puts("gantool_generate refused its arguments\n");
        return 1;
    }
    for (y = 0; y < GANTOOL_IMAGE_HEIGHT; ++y) {
        for (x = 0; x < GANTOOL_IMAGE_WIDTH; ++x) {
            const char c = shades[image[y * GANTOOL_IMAGE_WIDTH + x] * 10 / 256];
            board_putc(c);
            board_putc(c);
        }
        board_putc('\n');
    }
    board_puts("seed ");
    board_putu((uint32_t)SEED);
    board_puts(", label ");
    board_putu((uint32_t)LABEL);
    board_puts(": ");
    board_putu(ticks);
    board_puts(" timer ticks at 25 MHz (under QEMU -icount shift=0: 40 instructions each)\n");
    return 0;
}
