/*
 * floor-scan: the smallest honest TCP connect scanner, written only to measure how fast the
 * kernel lets a connect scan go on this machine (the "floor" of scripts/bench-wide.sh).
 *
 * Usage: floor-scan [-t THREADS] [-n INFLIGHT] [-w TIMEOUT_MS] [-a] CIDR PORTS
 *   CIDR   a.b.c.d/len or a.b.c.d (only 10.200.0.0-10.209.255.255, the project's lab ranges)
 *   PORTS  e.g. 445  445,3389  1-100  1-65535
 *   -t     threads (default 2), each with its own epoll set
 *   -n     connections in flight per thread (default 128: 256 in all with 2 threads)
 *   -w     milliseconds before an unanswered connect counts as a timeout (default 2000)
 *   -a     also print closed ports
 * Output: one "ADDRESS:PORT" line per open port on stdout ("ADDRESS:PORT closed" with -a,
 * "ADDRESS:PORT timeout" / "ADDRESS:PORT error" for those), in no particular order; one
 * summary line with the counts on stderr. Exit 0 when every (address, port) got an answer,
 * 1 if some timed out or failed, 2 on bad usage.
 *
 * How: non-blocking connect() on a fixed set of sockets, one epoll set per thread, no
 * retries. A refused socket is dissolved with connect(AF_UNSPEC) and reused for the next
 * target; an open connection is reset the same way (AF_UNSPEC on an established TCP socket
 * sends a RST and returns it to the closed state) and reused. Work is handed out through
 * one shared counter over (address, port) pairs, address-major.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { R_OPEN, R_CLOSED, R_TIMEOUT, R_ERROR, R_KINDS };
static const char *const kind_name[R_KINDS] = {"open", "closed", "timeout", "error"};

static uint32_t g_base;      /* first address, host order */
static uint64_t g_hosts;     /* addresses */
static uint16_t *g_ports;    /* ports, in the order given */
static uint32_t g_nports;
static uint64_t g_total;     /* g_hosts * g_nports */
static uint64_t g_next;      /* next pair to hand out (atomic) */
static int g_inflight = 128, g_timeout_ms = 2000, g_print_closed;
static pthread_mutex_t g_out = PTHREAD_MUTEX_INITIALIZER;

struct slot {
    int fd;
    int busy;
    uint64_t idx;
    int64_t deadline_ms;
};

struct worker {
    pthread_t tid;
    uint64_t count[R_KINDS];
    char *buf;
    size_t len;
};

#define OUTBUF (1 << 16)

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void flush_out(struct worker *w) {
    if (!w->len) return;
    pthread_mutex_lock(&g_out);
    fwrite(w->buf, 1, w->len, stdout);
    pthread_mutex_unlock(&g_out);
    w->len = 0;
}

static void record(struct worker *w, uint64_t idx, int kind) {
    w->count[kind]++;
    if (kind == R_CLOSED && !g_print_closed) return;
    if (w->len + 40 > OUTBUF) flush_out(w);
    uint32_t a = g_base + (uint32_t)(idx / g_nports);
    unsigned port = g_ports[idx % g_nports];
    int n = snprintf(w->buf + w->len, OUTBUF - w->len, "%u.%u.%u.%u:%u%s%s\n", a >> 24,
                     (a >> 16) & 255, (a >> 8) & 255, a & 255, port, kind == R_OPEN ? "" : " ",
                     kind == R_OPEN ? "" : kind_name[kind]);
    if (n > 0) w->len += (size_t)n;
}

/* Back to a fresh, unconnected socket: AF_UNSPEC dissolves a refused attempt and resets an
 * open connection. Falls back to a new socket if the kernel will not. */
static int dissolve(int ep, struct slot *s, uint32_t slot_no) {
    struct sockaddr sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_family = AF_UNSPEC;
    if (connect(s->fd, &sa, sizeof sa) == 0) return 0;
    close(s->fd);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) return -1;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = slot_no};
    return epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
}

/* Starts the next pair on this slot; pairs answered at once are recorded and skipped.
 * Returns 1 while the slot is busy, 0 once there is no work left for it. */
static int start_next(struct worker *w, int ep, struct slot *s, uint32_t slot_no) {
    for (;;) {
        uint64_t idx = __atomic_fetch_add(&g_next, 1, __ATOMIC_RELAXED);
        if (idx >= g_total) {
            close(s->fd);
            s->fd = -1;
            s->busy = 0;
            return 0;
        }
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(g_base + (uint32_t)(idx / g_nports));
        sin.sin_port = htons(g_ports[idx % g_nports]);
        int rc = -1, err = 0;
        /* Out of local ports or buffers: wait a little and try the same pair again. */
        for (int tries = 0; tries < 200; tries++) {
            rc = connect(s->fd, (struct sockaddr *)&sin, sizeof sin);
            err = rc ? errno : 0;
            if (!rc || (err != EADDRNOTAVAIL && err != EAGAIN && err != ENOBUFS)) break;
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        }
        if (rc && err == EINPROGRESS) {
            s->busy = 1;
            s->idx = idx;
            s->deadline_ms = now_ms() + g_timeout_ms;
            return 1;
        }
        record(w, idx, rc == 0 ? R_OPEN : err == ECONNREFUSED ? R_CLOSED : R_ERROR);
        if (dissolve(ep, s, slot_no)) {
            s->fd = -1;
            s->busy = 0;
            return 0;
        }
    }
}

static void *run(void *arg) {
    struct worker *w = arg;
    w->buf = malloc(OUTBUF);
    struct slot *slots = calloc((size_t)g_inflight, sizeof *slots);
    struct epoll_event *evs = calloc((size_t)g_inflight, sizeof *evs);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!w->buf || !slots || !evs || ep < 0) {
        perror("floor-scan: setup");
        exit(1);
    }
    int active = 0;
    for (int i = 0; i < g_inflight; i++) {
        slots[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (slots[i].fd < 0) {
            perror("floor-scan: socket");
            exit(1);
        }
        struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, slots[i].fd, &ev)) {
            perror("floor-scan: epoll_ctl");
            exit(1);
        }
        active += start_next(w, ep, &slots[i], (uint32_t)i);
    }
    int64_t last_sweep = now_ms();
    while (active > 0) {
        int n = epoll_wait(ep, evs, g_inflight, 50);
        if (n < 0 && errno != EINTR) {
            perror("floor-scan: epoll_wait");
            exit(1);
        }
        for (int i = 0; i < n; i++) {
            uint32_t k = evs[i].data.u32;
            struct slot *s = &slots[k];
            if (!s->busy) continue;
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len)) err = errno;
            if (!err && !(evs[i].events & EPOLLOUT)) continue; /* not finished yet */
            record(w, s->idx, !err ? R_OPEN : err == ECONNREFUSED ? R_CLOSED : err == ETIMEDOUT ? R_TIMEOUT : R_ERROR);
            s->busy = 0;
            if (dissolve(ep, s, k) || !start_next(w, ep, s, k)) active--;
        }
        int64_t t = now_ms();
        if (t - last_sweep >= 50) {
            last_sweep = t;
            for (int k = 0; k < g_inflight; k++) {
                struct slot *s = &slots[k];
                if (!s->busy || t < s->deadline_ms) continue;
                record(w, s->idx, R_TIMEOUT);
                s->busy = 0;
                if (dissolve(ep, s, (uint32_t)k) || !start_next(w, ep, s, (uint32_t)k)) active--;
            }
        }
    }
    flush_out(w);
    close(ep);
    free(evs);
    free(slots);
    return NULL;
}

static int parse_ports(const char *spec) {
    static uint8_t seen[65536];
    g_ports = malloc(65535 * sizeof *g_ports);
    if (!g_ports) return -1;
    const char *p = spec;
    while (*p) {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (end == p) return -1;
        if (*end == '-') {
            p = end + 1;
            hi = strtol(p, &end, 10);
            if (end == p) return -1;
        }
        if (lo < 1 || hi > 65535 || lo > hi) return -1;
        for (long port = lo; port <= hi; port++) {
            if (!seen[port]) g_ports[g_nports++] = (uint16_t)port;
            seen[port] = 1;
        }
        if (*end == ',') end++;
        else if (*end) return -1;
        p = end;
    }
    return g_nports ? 0 : -1;
}

static int parse_cidr(const char *spec) {
    char host[32];
    const char *slash = strchr(spec, '/');
    size_t hl = slash ? (size_t)(slash - spec) : strlen(spec);
    if (hl >= sizeof host) return -1;
    memcpy(host, spec, hl);
    host[hl] = '\0';
    long len = 32;
    if (slash) {
        char *end;
        len = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || len < 8 || len > 32) return -1;
    }
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) != 1) return -1;
    uint32_t mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
    g_base = ntohl(a.s_addr) & mask;
    g_hosts = (uint64_t)1 << (32 - len);
    /* Only the project's lab namespaces: 10.200.0.0 - 10.209.255.255. */
    uint64_t last = (uint64_t)g_base + g_hosts - 1;
    if (g_base < 0x0AC80000u || last > 0x0AD1FFFFu) {
        fprintf(stderr, "floor-scan: refusing %s (only 10.200.0.0-10.209.255.255, the lab ranges)\n", spec);
        exit(2);
    }
    return 0;
}

int main(int argc, char **argv) {
    int threads = 2, opt;
    while ((opt = getopt(argc, argv, "t:n:w:a")) != -1) {
        switch (opt) {
        case 't': threads = atoi(optarg); break;
        case 'n': g_inflight = atoi(optarg); break;
        case 'w': g_timeout_ms = atoi(optarg); break;
        case 'a': g_print_closed = 1; break;
        default: goto usage;
        }
    }
    if (argc - optind != 2 || threads < 1 || threads > 64 || g_inflight < 1 || g_inflight > 65536 ||
        g_timeout_ms < 1)
        goto usage;
    if (parse_cidr(argv[optind])) {
        fprintf(stderr, "floor-scan: bad CIDR '%s'\n", argv[optind]);
        return 2;
    }
    if (parse_ports(argv[optind + 1])) {
        fprintf(stderr, "floor-scan: bad port list '%s'\n", argv[optind + 1]);
        return 2;
    }
    g_total = g_hosts * g_nports;
    struct worker *ws = calloc((size_t)threads, sizeof *ws);
    if (!ws) return 1;
    int64_t t0 = now_ms();
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&ws[i].tid, NULL, run, &ws[i])) {
            perror("floor-scan: pthread_create");
            return 1;
        }
    }
    uint64_t total[R_KINDS] = {0};
    for (int i = 0; i < threads; i++) {
        pthread_join(ws[i].tid, NULL);
        for (int k = 0; k < R_KINDS; k++) total[k] += ws[i].count[k];
    }
    fflush(stdout);
    fprintf(stderr, "floor-scan: %llu pairs: %llu open, %llu closed, %llu timeout, %llu error in %.3f s (%d threads x %d in flight)\n",
            (unsigned long long)g_total, (unsigned long long)total[R_OPEN],
            (unsigned long long)total[R_CLOSED], (unsigned long long)total[R_TIMEOUT],
            (unsigned long long)total[R_ERROR], (double)(now_ms() - t0) / 1000.0, threads, g_inflight);
    return total[R_TIMEOUT] || total[R_ERROR] ? 1 : 0;
usage:
    fprintf(stderr, "usage: floor-scan [-t THREADS] [-n INFLIGHT] [-w TIMEOUT_MS] [-a] CIDR PORTS\n");
    return 2;
}
