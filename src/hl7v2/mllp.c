/*
 * mllp.c - the MLLP listener (mllp.h).
 */
#include "hl7v2/mllp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "hl7v2/hl7_service.h"

#define VT 0x0B /* start of a frame */
#define FS 0x1C /* end of a frame (then CR) */
#define CR 0x0D

struct mllp_server {
    struct hl7_service svc;
    const struct config *cfg;
    int listen_fd;
    int wake[2]; /* a byte here stops the acceptor */
    int port;
    pthread_t acceptor;
    pthread_mutex_t lock;
    pthread_cond_t idle; /* signalled when a connection ends */
    int *fds;            /* open connections (for shutdown) */
    int nconn;
    bool stopping;
};

struct conn {
    struct mllp_server *s;
    int fd;
    char peer[64];
};

/* ---- one connection ---- */

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Store one framed message and answer it; false when the connection must close. */
static bool answer(struct conn *c, const char *msg, size_t len, size_t total)
{
    struct buf ack;
    buf_init(&ack, 1u << 20);
    buf_append(&ack, (char[]){VT}, 1);
    enum hl7_outcome o = total > len
                             ? hl7_handle_oversized(&c->s->svc, msg, len, total, c->peer, &ack)
                             : hl7_handle(&c->s->svc, msg, len, c->peer, NULL, &ack);
    bool ok = o != HL7_NOT_KEPT;
    if (ok) {
        buf_append(&ack, (char[]){FS, CR}, 2);
        ok = send_all(c->fd, ack.ptr, ack.len);
    }
    static const char *const codes[] = {"AA", "AE", "AR", "none"};
    if (o == HL7_ACCEPTED)
        log_debug(LOG_HL7, "mllp message peer=%s ack=AA", c->peer);
    else /* the reason stays out of the log: it may quote patient data */
        log_info(LOG_HL7, "mllp message peer=%s ack=%s", c->peer, codes[o]);
    buf_release(&ack);
    return ok;
}

/* Framing state of a connection. */
struct frame {
    bool inside;  /* after a VT */
    bool fs_seen; /* the FS of the frame: a CR may follow */
    struct buf msg;
    size_t total; /* bytes of the frame so far (more than msg holds when oversized) */
    size_t max;
};

/* Feed received bytes; each complete frame is answered. False: close. */
static bool feed(struct conn *c, struct frame *f, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (f->fs_seen) {
            f->fs_seen = false;
            if (ch == CR)
                continue;
        }
        if (ch == VT) { /* a new frame: one broken off before it is dropped, unanswered */
            f->inside = true;
            buf_reset(&f->msg);
            f->total = 0;
        } else if (!f->inside) {
            continue; /* outside a frame: not ours to read */
        } else if (ch == FS) {
            f->inside = false;
            f->fs_seen = true;
            if (!answer(c, f->msg.ptr ? f->msg.ptr : "", f->msg.len, f->total))
                return false;
        } else {
            if (f->msg.len < f->max)
                buf_append(&f->msg, &ch, 1);
            f->total++;
        }
    }
    return true;
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct mllp_server *s = c->s;
    struct frame f = {.max = (size_t)s->cfg->hl7_max_message_kb * 1024};
    buf_init(&f.msg, f.max + 1);
    char chunk[16384];
    for (;;) {
        struct pollfd pfd = {c->fd, POLLIN, 0};
        int r = poll(&pfd, 1, s->cfg->hl7_idle_timeout_s * 1000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* idle too long, or an error */
        ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || !feed(c, &f, chunk, (size_t)n))
            break;
    }
    buf_release(&f.msg);
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->nconn; i++)
        if (s->fds[i] == c->fd) {
            s->fds[i] = s->fds[--s->nconn];
            break;
        }
    close(c->fd);
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
    free(c);
    return NULL;
}

/* ---- accepting ---- */

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t size)
{
    const void *addr = ss->ss_family == AF_INET6
                           ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
                           : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
    if (!inet_ntop(ss->ss_family, addr, out, (socklen_t)size))
        snprintf(out, size, "?");
}

static void accept_one(struct mllp_server *s)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = accept(s->listen_fd, (struct sockaddr *)&ss, &len);
    if (fd < 0)
        return;
    pthread_mutex_lock(&s->lock);
    bool room = !s->stopping && s->nconn < s->cfg->hl7_max_connections;
    if (room)
        s->fds[s->nconn++] = fd;
    pthread_mutex_unlock(&s->lock);
    if (!room) {
        close(fd);
        log_warn(LOG_HL7, "mllp connection refused: %d open", s->cfg->hl7_max_connections);
        return;
    }
    struct conn *c = xcalloc(1, sizeof(*c));
    c->s = s;
    c->fd = fd;
    peer_name(&ss, c->peer, sizeof(c->peer));
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, conn_main, c) != 0) {
        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < s->nconn; i++)
            if (s->fds[i] == fd) {
                s->fds[i] = s->fds[--s->nconn];
                break;
            }
        pthread_mutex_unlock(&s->lock);
        close(fd);
        free(c);
    }
    pthread_attr_destroy(&attr);
}

static void *acceptor_main(void *arg)
{
    struct mllp_server *s = arg;
    for (;;) {
        struct pollfd pfd[2] = {{s->listen_fd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            break;
        if (pfd[0].revents & POLLIN)
            accept_one(s);
    }
    return NULL;
}

static int listen_on(const char *host, int port, int *bound_port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *res = NULL;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    if (getaddrinfo(host, service, &hints, &res) != 0 || !res)
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd >= 0 && (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0)) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

enum err mllp_start(const struct config *cfg, struct store *store, struct mllp_server **out)
{
    struct mllp_server *s = xcalloc(1, sizeof(*s));
    s->svc = (struct hl7_service){store, cfg};
    s->cfg = cfg;
    s->fds = xcalloc((size_t)cfg->hl7_max_connections, sizeof(*s->fds));
    s->listen_fd = listen_on(cfg->hl7_mllp_host, cfg->hl7_mllp_port, &s->port);
    if (s->listen_fd < 0 || pipe(s->wake) != 0) {
        log_error(LOG_HL7, "cannot listen for MLLP on %s:%d", cfg->hl7_mllp_host,
                  cfg->hl7_mllp_port);
        if (s->listen_fd >= 0)
            close(s->listen_fd);
        free(s->fds);
        free(s);
        return ERR_IO;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->idle, NULL);
    pthread_create(&s->acceptor, NULL, acceptor_main, s);
    *out = s;
    return ERR_OK;
}

int mllp_port(const struct mllp_server *s)
{
    return s->port;
}

void mllp_stop(struct mllp_server *s)
{
    if (!s)
        return;
    (void)!write(s->wake[1], "x", 1);
    pthread_join(s->acceptor, NULL);
    close(s->listen_fd);
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    for (int i = 0; i < s->nconn; i++)
        shutdown(s->fds[i], SHUT_RD); /* a message being stored still gets its answer out */
    while (s->nconn > 0)
        pthread_cond_wait(&s->idle, &s->lock);
    pthread_mutex_unlock(&s->lock);
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->idle);
    free(s->fds);
    free(s);
}
