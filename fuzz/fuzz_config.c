/*
 * fuzz_config.c - libFuzzer target: bytes as a config file.
 */
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    struct config c;
    config_init(&c);
    struct buf err;
    buf_init(&err, 4096);
    (void)config_load_stream(&c, f, "fuzz", &err);
    buf_release(&err);
    config_release(&c);
    fclose(f);
    return 0;
}
