/*
 * c_echo: the ceiling for the echo scenarios.  One thread, level-triggered
 * epoll, non-blocking sockets, a per-connection buffer only while the peer
 * is not reading.  It does the least work an echo server can do, so the gap
 * between it and a Python server is the cost of the interpreter.
 *
 * usage: c_echo PORT [HOST]   (prints "ready" once listening)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK 65536

struct conn {
    int fd;
    char *pending; /* bytes the peer has not taken yet */
    size_t len, cap;
};

static int epfd;
static char buf[CHUNK];

static void drop(struct conn *c) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->pending);
    free(c);
}

static void watch(struct conn *c, unsigned events, int op) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(epfd, op, c->fd, &ev);
}

/* Queue what send() could not take and stop reading until it drains. */
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
    watch(c, EPOLLOUT, EPOLL_CTL_MOD);
    return 1;
}

static void on_writable(struct conn *c) {
    ssize_t w = send(c->fd, c->pending, c->len, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR) drop(c);
        return;
    }
    memmove(c->pending, c->pending + w, c->len - (size_t)w);
    c->len -= (size_t)w;
    if (c->len == 0) watch(c, EPOLLIN, EPOLL_CTL_MOD);
}

static void on_readable(struct conn *c) {
    ssize_t r = recv(c->fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        drop(c);
        return;
    }
    if (r < 0) return;
    ssize_t w = send(c->fd, buf, (size_t)r, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            drop(c);
            return;
        }
        w = 0;
    }
    if (w < r && !keep(c, buf + w, (size_t)(r - w))) drop(c);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: c_echo PORT [HOST]\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
    inet_pton(AF_INET, argc > 2 ? argv[2] : "127.0.0.1", &addr.sin_addr);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
        perror("c_echo: bind/listen");
        return 1;
    }
    epfd = epoll_create1(0);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
    printf("ready\n");
    fflush(stdout);
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(epfd, events, 256, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = calloc(1, sizeof *nc);
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    watch(nc, EPOLLIN, EPOLL_CTL_ADD);
                }
                continue;
            }
            if (events[i].events & EPOLLOUT) on_writable(c);
            else if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
        }
    }
}
