/* Verification firmware (gantool's tests): generates every (seed, label) of seeds.h and writes each
 * image as hex over UART0, one line per image, then the timer ticks per image. */
#include <stdint.h>

#include "board.h"
#include "gantool_generator.h"
#include "seeds.h" /* static const int64_t check_seeds[]; static const int32_t check_labels[]; CHECK_COUNT */

static uint8_t image[GANTOOL_IMAGE_SIZE];

int main(void)
{
    static const char hex[] = "0123456789abcdef";
    uint32_t ticks = 0, start;
    int i, j, rc;

    board_init();
    /* bad arguments first: a label out of range is refused and writes nothing */
    image[0] = 0xA5;
    rc = gantool_generate(1, GANTOOL_NUM_CLASSES ? GANTOOL_NUM_CLASSES : 0, image);
    board_puts(rc < 0 && image[0] == 0xA5 ? "bad-label refused\n" : "bad-label ACCEPTED\n");
    for (i = 0; i < CHECK_COUNT; ++i) {
        start = board_ticks();
        rc = gantool_generate(check_seeds[i], check_labels[i], image);
        ticks += board_ticks() - start;
        if (rc != GANTOOL_OK) {
            board_puts("refused\n");
            return 1;
        }
        for (j = 0; j < GANTOOL_IMAGE_SIZE; ++j) {
            board_putc(hex[image[j] >> 4]);
            board_putc(hex[image[j] & 15]);
        }
        board_putc('\n');
    }
    board_puts("ticks ");
    board_putu(ticks);
    board_putc('\n');
    return 0;
}
