/*
 * test_listener.c - the daemons' listener: the connection cap and the pause
 * when accept() runs out of descriptors, on a real loop and real sockets.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "listener.h"

#define MAXFD 4096

static struct event_base *base;
static struct dfs_listener *lst;
static int accepted[64];
static int naccepted;

static void on_accept(evutil_socket_t fd, void *arg)
{
    (void)arg;
    if (naccepted < (int)(sizeof(accepted) / sizeof(accepted[0])))
        accepted[naccepted++] = fd;
    else
        close(fd);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the loop until pred() holds or 10 s pass; returns pred(). */
static int run_until(int (*pred)(void))
{
    double deadline = now_s() + 10;
    while (!pred() && now_s() < deadline)
        event_base_loop(base, EVLOOP_ONCE);
    return pred();
}

static int client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(
        (uint16_t)dfs_listener_port(lst)) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = { 10, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int want, probe_fd;
static int probe_closed(void)
{
    char b;
    return recv(probe_fd, &b, 1, MSG_DONTWAIT) == 0;
}
static int accepted_want(void) { return naccepted >= want; }
static int paused(void) { return dfs_listener_pauses(lst) > 0; }

static void close_accepted(void)
{
    while (naccepted > 0) {
        close(accepted[--naccepted]);
        dfs_listener_closed(lst);
    }
}

/* max_conns 2: a third is closed at once; after one closed, a fourth is
 * accepted. */
static void test_cap(void)
{
    int c1 = client(), c2 = client();
    want = 2;
    CHECK(run_until(accepted_want));
    CHECK_EQ_INT(dfs_listener_open_conns(lst), 2);

    int c3 = client();
    CHECK(c3 >= 0);
    probe_fd = c3;
    CHECK(run_until(probe_closed));             /* closed by the listener */
    CHECK_EQ_INT(naccepted, 2);

    close(accepted[--naccepted]);
    dfs_listener_closed(lst);
    int c4 = client();
    want = 2;
    CHECK(run_until(accepted_want));
    CHECK_EQ_INT(dfs_listener_open_conns(lst), 2);
    close(c1);
    close(c2);
    close(c3);
    close(c4);
    close_accepted();
}

/* accept() fails with EMFILE: the listener pauses (no busy loop), then
 * accepts the waiting peer once descriptors are free again. */
static void test_pause_without_descriptors(void)
{
    static int filler[MAXFD];
    int nfill = 0;
    struct rlimit saved, low;

    CHECK_EQ_INT(getrlimit(RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = 64;
    CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
    int fd;
    while (nfill < MAXFD && (fd = dup(0)) >= 0)
        filler[nfill++] = fd;
    CHECK_EQ_INT(errno, EMFILE);
    close(filler[--nfill]);              /* room for the client only */
    int c = client();
    CHECK(c >= 0);

    CHECK(run_until(paused));
    CHECK_EQ_INT(naccepted, 0);

    while (nfill > 0)
        close(filler[--nfill]);
    want = 1;
    CHECK(run_until(accepted_want));      /* the peer waited in the backlog */
    CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &saved), 0);
    close(c);
    close_accepted();
}

static void test_bad_addresses(void)
{
    char err[256];
    struct dfs_listener_cfg cfg = { .key = "x.address", .address = "nope", .max_conns = 4,
                                    .on_accept = on_accept };
    CHECK(dfs_listener_new(base, &cfg, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "x.address: invalid address 'nope'");
    cfg.address = "localhost:1";
    CHECK(dfs_listener_new(base, &cfg, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "x.address: 'localhost:1' is not a numeric address");
    cfg.address = dfs_listener_addr(lst);       /* taken */
    CHECK(dfs_listener_new(base, &cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "cannot listen on") != NULL);
}

/* A descriptor limit with room for fewer than LISTENER_MIN_CONNS beside
 * the reserve: refused, with a message that says what to raise. */
static void test_too_few_descriptors(void)
{
    char err[256];
    struct rlimit rl;
    CHECK_EQ_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
    struct dfs_listener_cfg cfg = {
        .key = "x.address", .address = "127.0.0.1:0", .max_conns = 100,
        .fds_per_conn = 1, .reserve = (unsigned)(rl.rlim_max - LISTENER_MIN_CONNS + 1),
        .on_accept = on_accept,
    };
    CHECK(dfs_listener_new(base, &cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "x.address: the descriptor limit (RLIMIT_NOFILE ") == err);
    CHECK(strstr(err, "raise it (ulimit -n)") != NULL);
    cfg.reserve -= 1;                          /* exactly the minimum fits */
    struct dfs_listener *l = dfs_listener_new(base, &cfg, err, sizeof(err));
    CHECK(l != NULL);
    if (l)
        CHECK_EQ_INT(dfs_listener_max_conns(l), LISTENER_MIN_CONNS);
    dfs_listener_free(l);
}

int main(void)
{
    char err[256];
    base = event_base_new();
    struct event *t = event_new(base, -1, EV_PERSIST, tick, NULL);
    struct timeval tv = { 0, 10000 };
    event_add(t, &tv);
    struct dfs_listener_cfg cfg = {
        .key = "test.address", .address = "127.0.0.1:0", .max_conns = 2,
        .fds_per_conn = 1, .reserve = 16, .on_accept = on_accept,
    };
    lst = dfs_listener_new(base, &cfg, err, sizeof(err));
    CHECK(lst != NULL);
    if (!lst) {
        fprintf(stderr, "%s\n", err);
        return check_summary();
    }
    CHECK(dfs_listener_port(lst) != 0);
    CHECK_EQ_INT(dfs_listener_max_conns(lst), 2);

    test_cap();
    test_pause_without_descriptors();
    test_bad_addresses();
    test_too_few_descriptors();

    dfs_listener_free(lst);
    event_free(t);
    event_base_free(base);
    return check_summary();
}
