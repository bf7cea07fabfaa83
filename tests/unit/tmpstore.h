/*
 * tmpstore.h - a store in a fresh temporary directory, for unit tests that
 * need a real SQLite store: tmpstore_open in a cmocka setup, tmpstore_close
 * in its teardown (the directory is removed).
 */
#ifndef TESTS_UNIT_TMPSTORE_H
#define TESTS_UNIT_TMPSTORE_H

#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

struct tmpstore {
    char dir[64];        /* temp data dir */
    struct config cfg;   /* its config */
    struct store *store; /* open store */
};

static inline int tmpstore_open(void **state)
{
    struct tmpstore *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/yujian-test-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    config_init(&f->cfg);
    struct buf err;
    buf_init(&err, 256);
    config_set(&f->cfg, "data.dir", f->dir, &err);
    buf_release(&err);
    log_set_level_name("warn");
    if (store_sqlite_open(&f->cfg, &f->store))
        return -1;
    *state = f;
    return 0;
}

static inline int tmpstore_close(void **state)
{
    struct tmpstore *f = *state;
    store_close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    int rc = system(cmd);
    config_release(&f->cfg);
    free(f);
    return rc == 0 ? 0 : -1;
}

#endif
