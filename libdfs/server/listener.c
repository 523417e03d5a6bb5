/*
 * listener.c - the daemons' TCP listener with its descriptor guards (see
 * listener.h).
 */
#include "listener.h"
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/listener.h>

#include "config.h"
#include "log.h"

struct dfs_listener {
    struct evconnlistener *ev;
    struct event *resume;           /* ends a pause after accept failures */
    void (*on_accept)(evutil_socket_t fd, void *arg);
    void *arg;
    unsigned max_conns, open;
    unsigned long pauses;
    uint64_t refused;               /* over the cap, since the last log line */
    uint64_t refused_logged_ms;
    uint64_t paused_logged_ms;
    char host[256];
    unsigned port;
    char addr[300];
};

static void accept_cb(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)ev;
    (void)sa;
    (void)salen;
    struct dfs_listener *l = arg;

    if (l->open >= l->max_conns) {
        evutil_closesocket(fd);
        l->refused++;
        uint64_t now = dfs_mono_ms();
        if (l->refused_logged_ms == 0 || now - l->refused_logged_ms >= LISTENER_LOG_MS) {
            LOG_WARN("%s: %u connections open, the most allowed: refused %llu more",
                     l->addr, l->open, (unsigned long long)l->refused);
            l->refused = 0;
            l->refused_logged_ms = now;
        }
        return;
    }
    l->open++;
    l->on_accept(fd, l->arg);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct dfs_listener *l = arg;
    evconnlistener_enable(l->ev);
}

static void accept_error_cb(struct evconnlistener *ev, void *arg)
{
    struct dfs_listener *l = arg;
    int e = EVUTIL_SOCKET_ERROR();

    if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) {
        /* The peer gave up before we accepted it, and the like. */
        LOG_DEBUG("%s: accept: %s", l->addr, evutil_socket_error_to_string(e));
        return;
    }
    uint64_t now = dfs_mono_ms();
    if (l->paused_logged_ms == 0 || now - l->paused_logged_ms >= LISTENER_LOG_MS) {
        LOG_WARN("%s: accept: %s (%u connections open); pausing accepts for %d ms",
                 l->addr, evutil_socket_error_to_string(e), l->open, LISTENER_PAUSE_MS);
        l->paused_logged_ms = now;
    }
    l->pauses++;
    evconnlistener_disable(ev);
    struct timeval tv = { 0, LISTENER_PAUSE_MS * 1000 };
    evtimer_add(l->resume, &tv);
}

/* Raise the soft descriptor limit to the hard one; return the soft limit. */
static rlim_t nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = { rl.rlim_max, rl.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    return rl.rlim_cur;
}

/* max_conns, lowered to what the descriptor limit *lim can hold; 0 when
 * that is below LISTENER_MIN_CONNS. */
static unsigned fit_cap(const struct dfs_listener_cfg *cfg, const char *addr, rlim_t *lim)
{
    *lim = nofile_limit();
    unsigned per = cfg->fds_per_conn ? cfg->fds_per_conn : 1;
    rlim_t room = *lim > cfg->reserve ? (*lim - cfg->reserve) / per : 0;
    if (room >= cfg->max_conns)
        return cfg->max_conns;
    if (room < LISTENER_MIN_CONNS)
        return 0;
    LOG_WARN("%s: %s: %u connections need more descriptors than the limit of %llu "
             "allows: serving at most %llu", addr, cfg->key, cfg->max_conns,
             (unsigned long long)*lim, (unsigned long long)room);
    return (unsigned)room;
}

/* Numeric host and port (0 allowed, which evutil_parse_sockaddr_port
 * refuses) into ss.  Its length, or 0 when host is not numeric. */
static int make_sockaddr(const char *host, unsigned port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(host, ':')) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1 ? (int)sizeof(*sin6) : 0;
    }
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? (int)sizeof(*sin) : 0;
}

static unsigned bound_port(evutil_socket_t fd, unsigned fallback)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return fallback;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return fallback;
}

struct dfs_listener *dfs_listener_new(struct event_base *base, const struct dfs_listener_cfg *cfg,
                                      char *err, size_t errsz)
{
    char host[256];
    unsigned port;
    struct sockaddr_storage ss;

    if (dfs_parse_hostport(cfg->address, host, sizeof(host), &port) != 0) {
        snprintf(err, errsz, "%s: invalid address '%s'", cfg->key, cfg->address);
        return NULL;
    }
    int sl = make_sockaddr(host, port, &ss);
    if (sl == 0) {
        snprintf(err, errsz, "%s: '%s' is not a numeric address", cfg->key, cfg->address);
        return NULL;
    }
    struct dfs_listener *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    l->on_accept = cfg->on_accept;
    l->arg = cfg->arg;
    snprintf(l->host, sizeof(l->host), "%s", host);
    l->resume = evtimer_new(base, resume_cb, l);
    l->ev = evconnlistener_new_bind(base, accept_cb, l,
                                    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                    LEV_OPT_CLOSE_ON_EXEC, 1024, (struct sockaddr *)&ss, sl);
    if (!l->resume || !l->ev) {
        snprintf(err, errsz, "%s: cannot listen on %s: %s", cfg->key, cfg->address,
                 strerror(errno));
        dfs_listener_free(l);
        return NULL;
    }
    evconnlistener_set_error_cb(l->ev, accept_error_cb);
    l->port = bound_port(evconnlistener_get_fd(l->ev), port);
    snprintf(l->addr, sizeof(l->addr), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, l->port);
    rlim_t lim;
    l->max_conns = fit_cap(cfg, l->addr, &lim);
    if (l->max_conns == 0) {
        snprintf(err, errsz, "%s: the descriptor limit (RLIMIT_NOFILE %llu) leaves room for "
                 "fewer than %d connections beside %u other files: raise it (ulimit -n)",
                 cfg->key, (unsigned long long)lim, LISTENER_MIN_CONNS, cfg->reserve);
        dfs_listener_free(l);
        return NULL;
    }
    return l;
}

void dfs_listener_free(struct dfs_listener *l)
{
    if (!l)
        return;
    if (l->ev)
        evconnlistener_free(l->ev);
    if (l->resume)
        event_free(l->resume);
    free(l);
}

void dfs_listener_closed(struct dfs_listener *l)
{
    if (l->open > 0)
        l->open--;
}

const char *dfs_listener_host(const struct dfs_listener *l) { return l->host; }
unsigned dfs_listener_port(const struct dfs_listener *l) { return l->port; }
const char *dfs_listener_addr(const struct dfs_listener *l) { return l->addr; }
unsigned dfs_listener_max_conns(const struct dfs_listener *l) { return l->max_conns; }
unsigned dfs_listener_open_conns(const struct dfs_listener *l) { return l->open; }
unsigned long dfs_listener_pauses(const struct dfs_listener *l) { return l->pauses; }
