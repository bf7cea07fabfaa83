/*
 * ratelimit.c - token buckets by key (see ratelimit.h). The table is
 * split into stripes, each with its own mutex, so threads rarely wait on
 * one another.
 */
#include "http/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define SLOTS   8192 /* keys remembered */
#define STRIPES 32   /* mutexes */
#define PROBE   8    /* slots looked at for one key */
#define KEY_MAX 72   /* longer keys are cut (addresses and account names are shorter) */

struct bucket {
    char key[KEY_MAX]; /* "" = free */
    double tokens;     /* requests it may make now */
    int64_t last_ms;   /* when tokens was computed */
};

struct rate_limiter {
    double rate;  /* tokens per millisecond */
    double burst; /* most tokens */
    pthread_mutex_t locks[STRIPES];
    struct bucket slots[SLOTS];
};

struct rate_limiter *rate_limiter_new(int rate, int burst)
{
    if (rate <= 0)
        return NULL;
    struct rate_limiter *l = xcalloc(1, sizeof(*l));
    l->rate = rate / 1000.0;
    l->burst = burst > rate ? burst : rate;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&l->locks[i], NULL);
    return l;
}

void rate_limiter_free(struct rate_limiter *l)
{
    if (!l)
        return;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&l->locks[i]);
    free(l);
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The bucket of key in its neighbourhood (start .. start+PROBE), made if absent. */
static struct bucket *find(struct rate_limiter *l, size_t start, const char *key, int64_t now_ms)
{
    struct bucket *oldest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        struct bucket *b = &l->slots[(start + i) % SLOTS];
        if (!strncmp(b->key, key, KEY_MAX - 1))
            return b;
        if (!oldest || !b->key[0] || (oldest->key[0] && b->last_ms < oldest->last_ms))
            oldest = b;
    }
    size_t n = strlen(key);
    if (n >= KEY_MAX)
        n = KEY_MAX - 1;
    memcpy(oldest->key, key, n);
    oldest->key[n] = '\0';
    oldest->tokens = l->burst;
    oldest->last_ms = now_ms;
    return oldest;
}

bool rate_limiter_take(struct rate_limiter *l, const char *key, int64_t now_ms, int *retry_after_s)
{
    if (!l)
        return true;
    size_t start = hash(key) % SLOTS;
    /* a neighbourhood never spans two stripes: stripes are aligned runs of slots */
    start -= start % PROBE;
    pthread_mutex_t *lock = &l->locks[(start / PROBE) % STRIPES];
    pthread_mutex_lock(lock);
    struct bucket *b = find(l, start, key, now_ms);
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * l->rate;
        if (b->tokens > l->burst)
            b->tokens = l->burst;
        b->last_ms = now_ms;
    }
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else
        *retry_after_s = 1 + (int)((1.0 - b->tokens) / l->rate / 1000.0);
    pthread_mutex_unlock(lock);
    return ok;
}
