/*
 * ratelimit.h - token buckets by key (a client address, an account): each
 * key may make `rate` requests a second on average and `burst` at once.
 * Keys live in a fixed table; when it is full, the least recently seen key
 * of a small neighbourhood is forgotten (it starts again with a full
 * bucket). Every function may be called from any thread.
 */
#ifndef HTTP_RATELIMIT_H
#define HTTP_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct rate_limiter;

/* A limiter of rate requests/s with burst, or NULL (no limit) when rate <= 0. */
struct rate_limiter *rate_limiter_new(int rate, int burst);
void rate_limiter_free(struct rate_limiter *l);

/*
 * May key make a request at now_ms? Takes one token when so; otherwise
 * false with *retry_after_s, the seconds until a token is back (>= 1).
 * A NULL limiter allows everything.
 */
bool rate_limiter_take(struct rate_limiter *l, const char *key, int64_t now_ms, int *retry_after_s);

#endif
