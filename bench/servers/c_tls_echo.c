/*
 * c_tls_echo: the C ceiling for the TLS echo scenarios.  One thread,
 * level-triggered epoll, non-blocking sockets, OpenSSL's SSL_read/SSL_write
 * straight on the socket, a per-connection buffer only while the peer is not
 * reading.  It does the least work a TLS echo server can do, so the gap
 * between it and a Python server over the same OpenSSL is the cost of the
 * interpreter and of the TLS layer's own bookkeeping.
 *
 * The context is OpenSSL's defaults for a server, as Python's
 * ssl.create_default_context(Purpose.CLIENT_AUTH) leaves them where it
 * matters here: TLS 1.3, its default ciphers and groups, two session tickets
 * after each handshake.  A peer that closes without close_notify, or sends
 * garbage, is dropped.
 *
 * build: gcc -O2 -o c_tls_echo c_tls_echo.c -lssl -lcrypto
 * usage: c_tls_echo PORT CERT KEY [HOST]   (prints "ready PORT" once listening)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK 16384 /* one TLS record of plaintext */

struct conn {
    int fd;
    SSL *ssl;
    int open;      /* handshake done */
    int want_out;  /* EPOLLOUT registered */
    char *pending; /* plaintext SSL_write has not taken yet */
    size_t len, cap;
};

static int epfd;
static char buf[CHUNK];

static void drop(struct conn *c, int notify) {
    if (notify) SSL_shutdown(c->ssl); /* one close_notify, not waiting for the peer's */
    SSL_free(c->ssl);
    ERR_clear_error();
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->pending);
    free(c);
}

static void set_out(struct conn *c, int out) {
    if (out == c->want_out) return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = out;
}

/* 1: go on, 0: wait for the socket (EPOLLOUT set as needed), -1: drop it. */
static int failed(struct conn *c, int ret) {
    switch (SSL_get_error(c->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        set_out(c, 0);
        return 0;
    case SSL_ERROR_WANT_WRITE:
        set_out(c, 1);
        return 0;
    default:
        return -1;
    }
}

static int keep(struct conn *c, const char *data, size_t n) {
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : CHUNK;
        while (cap < c->len + n) cap *= 2;
        char *p = realloc(c->pending, cap);
        if (!p) return 0;
        c->pending = p;
        c->cap = cap;
    }
    memcpy(c->pending + c->len, data, n);
    c->len += n;
    return 1;
}

/* Write what is pending; 1 when all of it went, 0 when the socket is full, -1 on error. */
static int flush(struct conn *c) {
    while (c->len > 0) {
        int w = SSL_write(c->ssl, c->pending, (int)c->len);
        if (w <= 0) return failed(c, w);
        memmove(c->pending, c->pending + w, c->len - (size_t)w);
        c->len -= (size_t)w;
    }
    return 1;
}

static void serve(struct conn *c) {
    if (!c->open) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            if (failed(c, r) < 0) drop(c, 0);
            return;
        }
        c->open = 1;
        set_out(c, 0);
    }
    int f = flush(c);
    if (f < 0) {
        drop(c, 0);
        return;
    }
    if (f == 0) return; /* the peer is not reading: neither do we */
    set_out(c, 0);
    for (;;) {
        int r = SSL_read(c->ssl, buf, sizeof buf);
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN) {
                drop(c, 1);
            } else if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                if (e == SSL_ERROR_WANT_WRITE) set_out(c, 1);
            } else {
                drop(c, 0);
            }
            return;
        }
        int w = SSL_write(c->ssl, buf, r);
        if (w == r) continue;
        int state = w > 0 ? 0 : failed(c, w);
        if (state < 0 || !keep(c, buf + (w > 0 ? w : 0), (size_t)(r - (w > 0 ? w : 0)))) {
            drop(c, 0);
            return;
        }
        set_out(c, 1);
        return;
    }
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: c_tls_echo PORT CERT KEY [HOST]\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[2]) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    inet_pton(AF_INET, argc > 4 ? argv[4] : "127.0.0.1", &addr.sin_addr);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
        perror("c_tls_echo: listen");
        return 1;
    }
    epfd = epoll_create1(0);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &alen);
    printf("ready %d\n", ntohs(addr.sin_port)); /* PORT 0 picks one */
    fflush(stdout);

    struct epoll_event events[512];
    for (;;) {
        int n = epoll_wait(epfd, events, 512, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("c_tls_echo: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c) {
                serve(c);
                continue;
            }
            for (;;) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0) break;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                struct conn *nc = calloc(1, sizeof *nc);
                SSL *ssl = nc ? SSL_new(ctx) : NULL;
                if (!ssl) {
                    free(nc);
                    close(fd);
                    continue;
                }
                nc->fd = fd;
                nc->ssl = ssl;
                SSL_set_fd(ssl, fd);
                SSL_set_accept_state(ssl);
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
            }
        }
    }
}
