/*
 * fuzz_bundle.c - libFuzzer target: bytes -> POST [base] (a batch or
 * transaction Bundle) to a real server in this process, on a real SQLite
 * store in a temporary directory: parsing, entry checks, conditional
 * criteria, reference rewriting, the all-or-nothing unit and the answers.
 * Whatever the input, the server must answer, with a status below 500.
 *
 * The server runs without the auth gate (the FHIR layer allows everything
 * then), so every entry reaches the write path.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "fhir/rest.h"
#include "http/server.h"
#include "store/store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config cfg;
static uint16_t port;
static char dir[] = "/tmp/yujian-fuzz-bundle-XXXXXX";

/* The store's files go with the process (the server threads are past caring). */
static void remove_store(void)
{
    static const char *const files[] = {"yujian.db", "yujian.db-wal", "yujian.db-shm"};
    char path[sizeof(dir) + 32];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(dir))
        abort();
    atexit(remove_store);
    config_init(&cfg);
    struct buf err;
    buf_init(&err, 256);
    config_set(&cfg, "data.dir", dir, &err);
    config_set(&cfg, "server.port", "0", &err);
    config_set(&cfg, "log.access", "0", &err);
    /* one client opening a connection per input: closed ones linger in the count */
    config_set(&cfg, "server.max_connections_per_address", "0", &err);
    buf_release(&err);
    log_set_level_name("error");
    struct store *store = NULL;
    if (store_sqlite_open(&cfg, &store))
        abort();
    struct fhir_app *app = fhir_app_new(&cfg, store);
    struct http_server *server = NULL;
    if (http_server_start(&cfg, fhir_app_handle, NULL, app, &server))
        abort();
    port = http_server_port(server);
    /* the server lives as long as the process: libFuzzer exits without a hook */
    return 0;
}

static bool write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* Send the whole request, read the whole answer; the status code, or -1. */
static int exchange(const uint8_t *data, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    while (rc != 0 && (errno == EINTR || errno == EALREADY)) /* interrupted: it goes on */
        rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    if (rc != 0 && errno == EISCONN)
        rc = 0;
    if (rc != 0) {
        perror("fuzz_bundle: connect");
        abort(); /* the server is gone: a crash in it */
    }
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "POST /fhir HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/fhir+json\r\n"
                     "Connection: close\r\nContent-Length: %zu\r\n\r\n",
                     size);
    int status = -1;
    if (write_all(fd, head, (size_t)n) && write_all(fd, data, size)) {
        char reply[4096];
        ssize_t got = 0, r;
        /* libFuzzer's timers interrupt system calls: go on after EINTR */
        while ((r = read(fd, reply + got, sizeof(reply) - 1 - (size_t)got)) > 0 ||
               (r < 0 && errno == EINTR)) {
            if (r < 0)
                continue;
            got += r;
            if ((size_t)got == sizeof(reply) - 1)
                got = 16; /* keep the status line, drop the rest */
        }
        reply[got] = '\0';
        if (sscanf(reply, "HTTP/1.1 %d", &status) != 1) {
            fprintf(stderr, "fuzz_bundle: no status line (%zd bytes, %s)\n", got,
                    r < 0 ? strerror(errno) : "closed");
            status = -1;
        }
    }
    close(fd);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    int status = exchange(data, size);
    /* an answer, and never an internal error, whatever the bundle */
    if (status < 200 || status >= 500)
        fprintf(stderr, "fuzz_bundle: answered %d\n", status);
    assert(status >= 200 && status < 500);
    return 0;
}
