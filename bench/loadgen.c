/*
 * loadgen: a small epoll load generator for TCP echo servers.
 *
 * Modes
 *   pingpong  N connections, each keeps DEPTH messages of SIZE bytes in
 *             flight; a message is complete when its last echoed byte is
 *             back, and completing one sends the next.  DEPTH=1 is plain
 *             ping-pong, a large SIZE and DEPTH make it a bulk stream.
 *   connect   N slots, each loops: connect, send one message, read the
 *             echo, close.  The rate is completed cycles per second.
 *   handshake TLS only: like connect, with a full TLS handshake after the
 *             TCP connect (no session resumption: the client keeps no
 *             sessions and never offers a ticket), one echo, close_notify
 *             and close.  The rate is full handshakes per second, and with
 *             --pid the server's CPU time per handshake.
 *   idle      open N connections one after another, echo one message on
 *             each (so the server has accepted and served it), report
 *             "ready" and hold them until stdin closes or --hold expires.
 *
 * TLS.  Built with -DLOADGEN_TLS (link -lssl -lcrypto), --tls runs the
 * pingpong and connect modes over TLS: the same stream, the same
 * verification, on the plaintext.  The client verifies no certificate (the
 * benchmark measures the server; the certificates are throwaway), sends SNI
 * "localhost", and reports the protocol and cipher it negotiated.  A
 * server that ends the stream without close_notify is an error (OpenSSL 3
 * reports it as an unexpected EOF), not a clean close.
 *
 * Verification.  Every connection's outgoing stream is a slice of one
 * pseudo-random pattern, offset by the connection number, so every echoed
 * byte is compared with the byte that was sent at that stream offset.
 * A mismatch, an early EOF or a reset is counted; any of them makes the
 * exit status 2.
 *
 * Output is one JSON object on stdout.  Latencies are kept in a histogram
 * of 1 us buckets up to 1 s (larger values land in the last bucket).
 * With --pid, utime+stime of those processes is read from /proc at the
 * start and end of the measured window, so the server's own CPU time per
 * message can be reported.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef LOADGEN_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#define PATLEN 65521u /* prime, so per-connection offsets spread well */
#define HIST_BUCKETS 1000001u
#define MAX_PIDS 8
#define READ_CHUNK 65536

enum mode { MODE_PINGPONG, MODE_CONNECT, MODE_HANDSHAKE, MODE_IDLE };
enum cstate { ST_CONNECTING, ST_HANDSHAKING, ST_OPEN, ST_CLOSED };

struct conn {
    int fd;
    enum cstate state;
    uint32_t salt;        /* offset of this connection's stream in the pattern */
    uint64_t sent;        /* stream bytes written */
    uint64_t target;      /* stream bytes queued for writing */
    uint64_t received;    /* stream bytes read back and verified */
    uint64_t queued_msgs; /* messages queued so far */
    int want_out;         /* EPOLLOUT registered */
    double started;       /* connect mode: cycle start */
    double *sent_at;      /* ring of DEPTH send times */
    int write_wants_read; /* TLS: the last write waits for the peer's bytes */
#ifdef LOADGEN_TLS
    SSL *ssl;
#endif
};

static struct {
    enum mode mode;
    const char *host;
    int port;
    int conns;
    size_t size;
    int depth;
    double duration;
    double warmup;
    double hold;
    int pids[MAX_PIDS];
    int npids;
    int tls;
} opt = {MODE_PINGPONG, "127.0.0.1", 0, 100, 64, 1, 5.0, 1.0, 600.0, {0}, 0, 0};

static unsigned char pattern[2 * PATLEN];
static unsigned char rbuf[READ_CHUNK];
static uint32_t *hist;
static struct sockaddr_in server_addr;
static int epfd = -1;

static char io_reason[256]; /* why the last TLS call failed, when errno is EPROTO */
static char negotiated[128]; /* protocol and cipher of the first TLS connection */
static uint64_t msgs, bytes, verify_failures, conn_errors, hist_count, hist_over;
static int measuring;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void fill_pattern(void) {
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (unsigned i = 0; i < PATLEN; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pattern[i] = (unsigned char)(x >> 24);
    }
    memcpy(pattern + PATLEN, pattern, PATLEN);
}

static const unsigned char *pat_at(const struct conn *c, uint64_t off) {
    return pattern + (uint32_t)((off + c->salt) % PATLEN);
}

/* Compare n received bytes with the stream at offset off. */
static int verify(const struct conn *c, uint64_t off, const unsigned char *data, size_t n) {
    while (n > 0) {
        size_t piece = n < PATLEN ? n : PATLEN;
        if (memcmp(data, pat_at(c, off), piece) != 0) return 0;
        data += piece;
        off += piece;
        n -= piece;
    }
    return 1;
}

static void record_latency(double seconds) {
    if (!measuring) return;
    double us = seconds * 1e6;
    uint32_t b = us < 0 ? 0 : (us >= HIST_BUCKETS - 1 ? HIST_BUCKETS - 1 : (uint32_t)us);
    if (b == HIST_BUCKETS - 1) hist_over++;
    hist[b]++;
    hist_count++;
}

static double percentile(double p) {
    if (hist_count == 0) return 0.0;
    uint64_t rank = (uint64_t)(p * (double)hist_count);
    if (rank >= hist_count) rank = hist_count - 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
        seen += hist[i];
        if (seen > rank) return (double)i + 0.5;
    }
    return (double)(HIST_BUCKETS - 1);
}

static double proc_cpu_seconds(void) {
    double total = 0.0;
    long tick = sysconf(_SC_CLK_TCK);
    for (int i = 0; i < opt.npids; i++) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", opt.pids[i]);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *p = strrchr(buf, ')'); /* the command name may hold spaces */
        if (!p) continue;
        unsigned long utime = 0, stime = 0;
        /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
        if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) == 2)
            total += (double)(utime + stime) / (double)tick;
    }
    return total;
}

static void set_events(struct conn *c, int out) {
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl mod");
    c->want_out = out;
}

/* The text for a failed send/recv: the TLS reason or the errno's. */
static const char *io_error(void) {
    return errno == EPROTO && io_reason[0] ? io_reason : strerror(errno);
}

#ifdef LOADGEN_TLS
static SSL_CTX *tls_ctx;

static void tls_setup(void) {
    tls_ctx = SSL_CTX_new(TLS_client_method());
    if (!tls_ctx) {
        fprintf(stderr, "loadgen: SSL_CTX_new failed\n");
        exit(1);
    }
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
    /* every handshake a full one: no client-side session cache, no resumption */
    SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

/* Map a failed SSL call onto the send/recv convention: 0 for close_notify,
 * -1 with errno EAGAIN (try later) or EPROTO (io_reason says why). */
static ssize_t tls_failed(struct conn *c, int ret, int writing) {
    int e = SSL_get_error(c->ssl, ret);
    unsigned long code;
    switch (e) {
    case SSL_ERROR_WANT_READ:
        if (writing) c->write_wants_read = 1;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (errno != 0 && errno != EPROTO) return -1;
        snprintf(io_reason, sizeof io_reason, "TLS: the server closed without close_notify");
        errno = EPROTO;
        return -1;
    default:
        code = ERR_get_error();
        snprintf(io_reason, sizeof io_reason, "TLS: %s",
                 code ? ERR_reason_error_string(code) : "protocol error");
        ERR_clear_error();
        errno = EPROTO;
        return -1;
    }
}

static void tls_note_negotiated(struct conn *c) {
    if (negotiated[0]) return;
    snprintf(negotiated, sizeof negotiated, "%s %s", SSL_get_version(c->ssl),
             SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)));
}

static void tls_attach(struct conn *c) {
    c->ssl = SSL_new(tls_ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
        fprintf(stderr, "loadgen: SSL_new failed\n");
        exit(1);
    }
    SSL_set_tlsext_host_name(c->ssl, "localhost");
}
#endif

/* send()/recv() on the connection, through TLS when it has it. */
static ssize_t conn_send(struct conn *c, const void *buf, size_t n) {
#ifdef LOADGEN_TLS
    if (c->ssl) {
        ERR_clear_error();
        errno = 0;
        int w = SSL_write(c->ssl, buf, n > (size_t)1 << 30 ? 1 << 30 : (int)n);
        return w > 0 ? (ssize_t)w : tls_failed(c, w, 1);
    }
#endif
    return send(c->fd, buf, n, MSG_NOSIGNAL);
}

static ssize_t conn_recv(struct conn *c, void *buf, size_t n) {
#ifdef LOADGEN_TLS
    if (c->ssl) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_read(c->ssl, buf, n > (size_t)1 << 30 ? 1 << 30 : (int)n);
        return r > 0 ? (ssize_t)r : tls_failed(c, r, 0);
    }
#endif
    return recv(c->fd, buf, n, 0);
}

/* why == NULL: a clean close (with close_notify under TLS), else a counted failure. */
static void conn_fail(struct conn *c, const char *why) {
    if (c->state == ST_CLOSED) return;
    if (why) {
        if (conn_errors < 10) fprintf(stderr, "loadgen: connection %u: %s\n", c->salt / 977u, why);
        conn_errors++;
    }
#ifdef LOADGEN_TLS
    if (c->ssl) {
        /* one close_notify, not waiting for the server's */
        if (!why) SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
        ERR_clear_error();
    }
#endif
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->state = ST_CLOSED;
}

/* Write queued stream bytes; returns 0 if the connection failed. */
static int flush(struct conn *c) {
    c->write_wants_read = 0;
    while (c->sent < c->target) {
        uint64_t left = c->target - c->sent;
        size_t n = left < PATLEN ? (size_t)left : PATLEN;
        ssize_t w = conn_send(c, pat_at(c, c->sent), n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* a TLS write waiting for the peer's bytes is retried after a read */
                if (c->write_wants_read) {
                    if (c->want_out) set_events(c, 0);
                } else if (!c->want_out) {
                    set_events(c, 1);
                }
                return 1;
            }
            if (errno == EINTR) continue;
            conn_fail(c, io_error());
            return 0;
        }
        c->sent += (uint64_t)w;
    }
    if (c->want_out) set_events(c, 0);
    return 1;
}

static void queue_message(struct conn *c, double t) {
    c->sent_at[c->queued_msgs % (uint64_t)opt.depth] = t;
    c->queued_msgs++;
    c->target += opt.size;
}

static int open_socket(int blocking) {
    int fd = socket(AF_INET, SOCK_STREAM | (blocking ? 0 : SOCK_NONBLOCK), 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void start_connect(struct conn *c, double t) {
    c->fd = open_socket(0);
    c->sent = c->target = c->received = c->queued_msgs = 0;
    c->write_wants_read = 0;
    c->started = t;
    c->state = ST_CONNECTING;
    c->want_out = 1;
    if (connect(c->fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0 &&
        errno != EINPROGRESS)
        die("connect");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl add");
}

/* Read what is there, verify it and complete messages. */
static void on_readable(struct conn *c, int running) {
    /* a few reads per event, so one streaming connection cannot hold the loop */
    /* a TLS read returns one record (at most 16 KiB), so more rounds */
    int rounds = opt.tls ? 16 : 4;
    for (int round = 0; round < rounds; round++) {
        ssize_t r = conn_recv(c, rbuf, sizeof rbuf);
        double t = now();
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            conn_fail(c, io_error());
            return;
        }
        if (r == 0) {
            conn_fail(c, "server closed the connection");
            return;
        }
        if (c->received + (uint64_t)r > c->sent) {
            verify_failures++;
            conn_fail(c, "received more bytes than were sent");
            return;
        }
        if (!verify(c, c->received, rbuf, (size_t)r)) {
            verify_failures++;
            conn_fail(c, "echoed bytes differ from the bytes sent");
            return;
        }
        uint64_t before = c->received / opt.size;
        c->received += (uint64_t)r;
        /* all sent bytes are back: an echo server has nothing more to send */
        int drained = c->received == c->sent;
        uint64_t after = c->received / opt.size;
        if (measuring) bytes += (uint64_t)r;
        for (uint64_t m = before; m < after; m++) {
            record_latency(t - c->sent_at[m % (uint64_t)opt.depth]);
            if (measuring) msgs++;
            if (opt.mode == MODE_PINGPONG && running) queue_message(c, t);
        }
        if ((opt.mode == MODE_CONNECT || opt.mode == MODE_HANDSHAKE) && c->received == opt.size) {
            /* the one message was queued at connect time: its latency is the cycle */
            conn_fail(c, NULL);
            if (running) start_connect(c, t);
            return;
        }
        if (after > before && opt.mode == MODE_PINGPONG && !flush(c)) return;
        /* a short plain read emptied the socket; a TLS read is one record, so
         * TLS reads on until the stream is drained or the socket is empty */
        if (opt.tls ? drained : (size_t)r < sizeof rbuf) return;
    }
}

/* The connection is usable: its first message goes out (connect modes). */
static void on_open(struct conn *c) {
    c->state = ST_OPEN;
    queue_message(c, c->started);
    flush(c);
}

#ifdef LOADGEN_TLS
/* Drive a non-blocking handshake one step; on success the cycle's message goes out. */
static void handshake_step(struct conn *c, int running) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_connect(c->ssl);
    if (r == 1) {
        tls_note_negotiated(c);
        on_open(c);
        return;
    }
    ssize_t failed = tls_failed(c, r, 0);
    if (failed < 0 && errno == EAGAIN) {
        int out = SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_WRITE;
        if (out != c->want_out) set_events(c, out);
        return;
    }
    conn_fail(c, failed == 0 ? "TLS: close_notify during the handshake" : io_error());
    if (running) start_connect(c, now());
}
#endif

static void print_result(double window, double cpu, uint64_t total_conns) {
    double secs = window > 0 ? window : 1e-9;
    printf("{\"mode\": \"%s\", \"tls\": %d, \"negotiated\": \"%s\", \"connections\": %d, \"size\": %zu, \"depth\": %d, "
           "\"seconds\": %.6f, \"messages\": %llu, \"bytes\": %llu, "
           "\"msgs_per_s\": %.3f, \"bytes_per_s\": %.3f, "
           "\"p50_us\": %.1f, \"p99_us\": %.1f, \"latency_samples\": %llu, "
           "\"latency_over_1s\": %llu, \"server_cpu_s\": %.6f, "
           "\"verify_failures\": %llu, \"errors\": %llu, \"opened\": %llu}\n",
           opt.mode == MODE_PINGPONG    ? "pingpong"
           : opt.mode == MODE_CONNECT   ? "connect"
           : opt.mode == MODE_HANDSHAKE ? "handshake"
                                        : "idle",
           opt.tls, negotiated, opt.conns, opt.size, opt.depth, window, (unsigned long long)msgs,
           (unsigned long long)bytes, (double)msgs / secs, (double)bytes / secs,
           percentile(0.50), percentile(0.99), (unsigned long long)hist_count,
           (unsigned long long)hist_over, cpu, (unsigned long long)verify_failures,
           (unsigned long long)conn_errors, (unsigned long long)total_conns);
    fflush(stdout);
}

static void run_loop(struct conn *cs) {
    struct epoll_event events[512];
    double t0 = now();
    double window_start = t0 + opt.warmup, end = window_start + opt.duration;
    double cpu0 = 0.0, cpu1 = 0.0, window = 0.0;
    uint64_t total_conns = (uint64_t)opt.conns;
    measuring = opt.warmup <= 0.0;
    if (measuring) cpu0 = proc_cpu_seconds();
    for (;;) {
        double t = now();
        if (!measuring && t >= window_start) {
            measuring = 1;
            cpu0 = proc_cpu_seconds();
            window_start = t;
            end = t + opt.duration;
        }
        if (t >= end) {
            cpu1 = proc_cpu_seconds();
            window = t - window_start;
            break;
        }
        int live = 0;
        for (int i = 0; i < opt.conns; i++) live += cs[i].state != ST_CLOSED;
        if (!live) {
            cpu1 = proc_cpu_seconds();
            window = t - window_start;
            break;
        }
        int n = epoll_wait(epfd, events, 512, 5);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        t = now();
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            uint32_t ev = events[i].events;
            if (c->state == ST_CLOSED) continue;
            if (c->state == ST_CONNECTING) {
                if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) continue;
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                    errno = err;
                    conn_fail(c, strerror(err));
                    start_connect(c, t);
                    continue;
                }
                if (measuring) total_conns++;
#ifdef LOADGEN_TLS
                if (opt.tls) {
                    c->state = ST_HANDSHAKING;
                    tls_attach(c);
                    handshake_step(c, 1);
                    continue;
                }
#endif
                on_open(c);
                continue;
            }
#ifdef LOADGEN_TLS
            if (c->state == ST_HANDSHAKING) {
                handshake_step(c, 1);
                continue;
            }
#endif
            if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c, 1);
            if (c->state == ST_OPEN && ((ev & EPOLLOUT) || c->write_wants_read)) flush(c);
        }
    }
    print_result(window, cpu1 - cpu0, total_conns);
}

/* Blocking connect and one verified round trip, then non-blocking. */
static int open_served(struct conn *c) {
    c->fd = open_socket(1);
    if (connect(c->fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0) {
        close(c->fd);
        c->fd = -1;
        return 0;
    }
    c->sent = c->target = c->received = c->queued_msgs = 0;
    c->state = ST_OPEN;
    queue_message(c, now());
    while (c->sent < c->target) {
        ssize_t w = send(c->fd, pat_at(c, c->sent), (size_t)(c->target - c->sent), MSG_NOSIGNAL);
        if (w <= 0) return 0;
        c->sent += (uint64_t)w;
    }
    while (c->received < c->sent) {
        ssize_t r = recv(c->fd, rbuf, (size_t)(c->sent - c->received), 0);
        if (r <= 0) return 0;
        if (!verify(c, c->received, rbuf, (size_t)r)) {
            verify_failures++;
            return 0;
        }
        c->received += (uint64_t)r;
    }
    record_latency(now() - c->sent_at[0]);
    msgs++;
    bytes += c->received;
    return 1;
}

static void run_idle(struct conn *cs) {
    double t0 = now();
    measuring = 1;
    int opened = 0;
    for (int i = 0; i < opt.conns; i++) {
        if (!open_served(&cs[i])) {
            fprintf(stderr, "loadgen: idle connection %d failed: %s\n", i, strerror(errno));
            conn_errors++;
            if (cs[i].fd >= 0) close(cs[i].fd);
            cs[i].fd = -1;
            cs[i].state = ST_CLOSED;
            break;
        }
        opened++;
    }
    double t1 = now();
    opt.conns = opened;
    print_result(t1 - t0, 0.0, (uint64_t)opened);
    /* hold until stdin closes (the runner is done measuring) or --hold expires */
    struct pollfd p = {.fd = 0, .events = POLLIN};
    double deadline = now() + opt.hold;
    while (now() < deadline) {
        int r = poll(&p, 1, 100);
        if (r > 0) {
            char b[64];
            if (read(0, b, sizeof b) <= 0) break;
        }
    }
    for (int i = 0; i < opened; i++) close(cs[i].fd);
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen --port P [--host 127.0.0.1] [--mode pingpong|connect|handshake|idle]\n"
            "               [--tls] [-c CONNS] [-s SIZE] [-d DEPTH] [-t SECONDS] [-w WARMUP]\n"
            "               [--hold SECONDS] [--pid PID]...\n");
    exit(1);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--tls")) {
            opt.tls = 1;
            continue;
        }
        if (!v) usage();
        if (!strcmp(a, "--host")) opt.host = v;
        else if (!strcmp(a, "--port")) opt.port = atoi(v);
        else if (!strcmp(a, "-c")) opt.conns = atoi(v);
        else if (!strcmp(a, "-s")) opt.size = (size_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "-d")) opt.depth = atoi(v);
        else if (!strcmp(a, "-t")) opt.duration = atof(v);
        else if (!strcmp(a, "-w")) opt.warmup = atof(v);
        else if (!strcmp(a, "--hold")) opt.hold = atof(v);
        else if (!strcmp(a, "--pid")) {
            if (opt.npids == MAX_PIDS) usage();
            opt.pids[opt.npids++] = atoi(v);
        } else if (!strcmp(a, "--mode")) {
            if (!strcmp(v, "pingpong")) opt.mode = MODE_PINGPONG;
            else if (!strcmp(v, "connect")) opt.mode = MODE_CONNECT;
            else if (!strcmp(v, "handshake")) opt.mode = MODE_HANDSHAKE;
            else if (!strcmp(v, "idle")) opt.mode = MODE_IDLE;
            else usage();
        } else usage();
        i++;
    }
    if (opt.port <= 0 || opt.conns <= 0 || opt.size == 0 || opt.depth <= 0) usage();
    if (opt.mode == MODE_CONNECT || opt.mode == MODE_HANDSHAKE) opt.depth = 1;
    if (opt.mode == MODE_HANDSHAKE) opt.tls = 1;
#ifdef LOADGEN_TLS
    if (opt.tls && opt.mode == MODE_IDLE) usage();
    if (opt.tls) tls_setup();
#else
    if (opt.tls) {
        fprintf(stderr, "loadgen: built without TLS (compile with -DLOADGEN_TLS -lssl -lcrypto)\n");
        exit(1);
    }
#endif

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    memset(&server_addr, 0, sizeof server_addr);
    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &server_addr.sin_addr) != 1) usage();

    fill_pattern();
    hist = calloc(HIST_BUCKETS, sizeof *hist);
    struct conn *cs = calloc((size_t)opt.conns, sizeof *cs);
    double *times = calloc((size_t)opt.conns * (size_t)opt.depth, sizeof *times);
    if (!hist || !cs || !times) die("calloc");
    for (int i = 0; i < opt.conns; i++) {
        cs[i].fd = -1;
        cs[i].state = ST_CLOSED;
        cs[i].salt = (uint32_t)i * 977u;
        cs[i].sent_at = times + (size_t)i * (size_t)opt.depth;
    }

    if (opt.mode == MODE_IDLE) {
        run_idle(cs);
        return verify_failures ? 2 : (conn_errors ? 1 : 0);
    }
    epfd = epoll_create1(0);
    if (epfd < 0) die("epoll_create1");
    double t = now();
    if (opt.mode == MODE_CONNECT || opt.mode == MODE_HANDSHAKE) {
        for (int i = 0; i < opt.conns; i++) start_connect(&cs[i], t);
    } else {
        for (int i = 0; i < opt.conns; i++) {
            cs[i].fd = open_socket(1);
            if (connect(cs[i].fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0)
                die("connect");
#ifdef LOADGEN_TLS
            if (opt.tls) {
                /* handshakes before the clock starts, on the still blocking socket */
                tls_attach(&cs[i]);
                ERR_clear_error();
                errno = 0;
                int r = SSL_connect(cs[i].ssl);
                if (r != 1) {
                    tls_failed(&cs[i], r, 0);
                    fprintf(stderr, "loadgen: TLS handshake failed: %s\n", io_error());
                    exit(1);
                }
                tls_note_negotiated(&cs[i]);
            }
#endif
            fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
            cs[i].state = ST_OPEN;
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
            if (epoll_ctl(epfd, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) die("epoll_ctl add");
        }
        for (int i = 0; i < opt.conns; i++) {
            for (int d = 0; d < opt.depth; d++) queue_message(&cs[i], t);
            flush(&cs[i]);
        }
    }
    run_loop(cs);
    for (int i = 0; i < opt.conns; i++)
        if (cs[i].state != ST_CLOSED) close(cs[i].fd);
    return verify_failures ? 2 : (conn_errors ? 1 : 0);
}
