/*
 * fuzz_hl7.c - libFuzzer target: bytes -> the HL7 v2 parser, every field
 * read back at every level, and the ORU^R01 mapping. Nothing may crash or
 * read out of bounds; a mapping that fails leaves nothing behind.
 */
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "hl7v2/hl7v2.h"
#include "hl7v2/oru.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct oru_resource out[ORU_MAX_RESOURCES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    arena_init(&a, 4096);
    struct hl7_message m;
    char why[256] = "";
    if (hl7_parse((const char *)data, size, &a, &m, why, sizeof(why))) {
        for (size_t s = 0; s < m.nsegments && s < 8; s++)
            for (size_t f = 1; f < 12; f++)
                for (size_t r = 0; r < 3; r++)
                    for (size_t c = 0; c < 3; c++)
                        (void)hl7_get(&m, &m.segments[s], f, r, c, c ? 2 : 0, &a);
        struct oru_patient p;
        if (oru_read_patient(&m, "lab", &a, &p, why, sizeof(why))) {
            size_t n = 0;
            if (oru_map(&m, "Patient/p", "lab", "+08:00", &a, out, &n, why, sizeof(why)))
                for (size_t i = 0; i < n; i++)
                    json_object_put(out[i].resource);
        }
        struct buf esc;
        buf_init(&esc, 1u << 20);
        hl7_escape(&m, why, &esc);
        buf_release(&esc);
    }
    arena_release(&a);
    return 0;
}
