/* The few board services the examples use: UART0 output, a 25 MHz cycle timer, exit. Written for
 * the MPS2 AN386 (CMSDK UART and timer) that QEMU emulates; a real board replaces these three. */
#ifndef GANTOOL_BOARD_H
#define GANTOOL_BOARD_H

#include <stdint.h>

#define UART0_DATA    (*(volatile uint32_t *)0x40004000u)
#define UART0_STATE   (*(volatile uint32_t *)0x40004004u)
#define UART0_CTRL    (*(volatile uint32_t *)0x40004008u)
#define UART0_BAUDDIV (*(volatile uint32_t *)0x40004010u)
#define TIMER0_CTRL   (*(volatile uint32_t *)0x40000000u)
#define TIMER0_VALUE  (*(volatile uint32_t *)0x40000004u)
#define TIMER0_RELOAD (*(volatile uint32_t *)0x40000008u)
#define BOARD_TIMER_HZ 25000000u

static inline void board_init(void)
{
    UART0_BAUDDIV = 16;
    UART0_CTRL = 1; /* TX enable */
    TIMER0_CTRL = 0;
    TIMER0_RELOAD = 0xFFFFFFFFu;
    TIMER0_VALUE = 0xFFFFFFFFu;
    TIMER0_CTRL = 1; /* counts down at 25 MHz (under QEMU -icount: virtual time, one tick per 40 instructions at shift 0) */
}

static inline uint32_t board_ticks(void) { return 0xFFFFFFFFu - TIMER0_VALUE; }

static inline void board_putc(char c)
{
    while (UART0_STATE & 1u) { } /* TX buffer full */
    UART0_DATA = (uint32_t)(unsigned char)c;
}

static inline void board_puts(const char *s)
{
    while (*s) board_putc(*s++);
}

static inline void board_putu(uint32_t v)
{
    char digits[11];
    int n = 0;
    do { digits[n++] = (char)('0' + v % 10u); v /= 10u; } while (v);
    while (n) board_putc(digits[--n]);
}

/* Semihosting SYS_EXIT_EXTENDED: QEMU (-semihosting) exits with `code`; a board without a debugger halts. */
static inline void board_exit(int code)
{
    uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)code};
    register uint32_t r0 __asm("r0") = 0x20u;
    register uint32_t *r1 __asm("r1") = block;
    __asm volatile("bkpt 0xAB" : : "r"(r0), "r"(r1) : "memory");
    for (;;) { }
}

#endif
