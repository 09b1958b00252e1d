/*
 * Accept-and-close TCP listener for the wide lab (tests/lab/wide-host-up.sh).
 *
 * Usage: wide-listener [-b BACKLOG] ADDR:PORT...
 *   Listens on every ADDR:PORT given (ADDR 0.0.0.0 answers on every local address,
 *   which inside the wide lab is a whole /16 through an AnyIP route) and closes each
 *   connection as soon as it is accepted. One thread, one epoll set; prints "ready" on
 *   stdout once every socket listens. Runs until killed.
 *
 * It is written in C, not Python, so that the target costs the scanners no CPU of
 * their own: accepting is a system call per connection and nothing more.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTENERS 1024

static int listen_on(const char *spec, int backlog) {
    char host[64];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host) {
        fprintf(stderr, "wide-listener: bad ADDR:PORT '%s'\n", spec);
        return -1;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    if (*end || port < 1 || port > 65535 || inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "wide-listener: bad ADDR:PORT '%s'\n", spec);
        return -1;
    }
    a.sin_port = htons((unsigned short)port);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) {
        perror("wide-listener: socket");
        return -1;
    }
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* The AnyIP addresses are local through a route, not an interface: allow binding
     * to any of them even where the kernel would not see them as configured. */
    setsockopt(s, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, backlog)) {
        fprintf(stderr, "wide-listener: %s: %s\n", spec, strerror(errno));
        close(s);
        return -1;
    }
    return s;
}

int main(int argc, char **argv) {
    int backlog = 8192, first = 1;
    if (argc > 2 && strcmp(argv[1], "-b") == 0) {
        backlog = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc || argc - first > MAX_LISTENERS || backlog < 1) {
        fprintf(stderr, "usage: wide-listener [-b BACKLOG] ADDR:PORT... (at most %d)\n", MAX_LISTENERS);
        return 2;
    }
    /* Hold nothing of the caller's but stdout/stderr (a test harness waiting for the end of
     * a pipe it gave the lab script must not wait for this process too). */
    for (int fd = 3; fd < 1024; fd++) close(fd);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("wide-listener: epoll_create1");
        return 1;
    }
    for (int i = first; i < argc; i++) {
        int s = listen_on(argv[i], backlog);
        if (s < 0) return 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev)) {
            perror("wide-listener: epoll_ctl");
            return 1;
        }
    }
    printf("ready\n");
    fflush(stdout);
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("wide-listener: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            /* Drain the accept queue; bounded so one busy socket cannot starve the rest. */
            for (int k = 0; k < 1024; k++) {
                int c = accept4(evs[i].data.fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) break;
                close(c);
            }
        }
    }
}
