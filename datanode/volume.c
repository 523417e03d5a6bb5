/*
 * volume.c - the datanode's data dirs and their health (see volume.h).
 *
 * A dir's `failed` flag goes from 0 to 1 once, under vs->mu (so that two
 * threads failing it at once agree on who did and on its reason); it is
 * read without the lock (atomic, acquire: the reason is written first).
 */
#include "volume.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define DIR_PATH_MAX (PATH_MAX - 128)   /* room for the names appended to a dir */
#define PROBE_NAME   "volume_check.tmp"
#define PROBE_LEN    4096

struct vol {
    char *path;
    int lock_fd;            /* in_use.lock, flock()ed; -1 if not held */
    int rbw_fd;             /* rbw/, for fsync; -1 if not open */
    int failed;             /* atomic */
    char why[VOL_WHY_MAX];  /* written once, before failed is set */
};

struct vol_set {
    struct vol *v;
    size_t n;
    uint64_t reserved;
    char storage_id[VOL_STORAGE_ID_LEN + 1];
    pthread_mutex_t mu;     /* serializes vol_fail */
    size_t nfailed;         /* atomic; changed under mu */
};

/* ---- small file-system helpers ------------------------------------------ */

int vol_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int vol_mkdir_durable(const char *path, const char *parent)
{
    if (mkdir(path, 0755) < 0)
        return errno == EEXIST ? 0 : -errno;
    return vol_fsync_dir(parent);
}

/* mkdir -p.  0 or -errno. */
static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* ---- state ---------------------------------------------------------------- */

size_t vol_count(const struct vol_set *vs)
{
    return vs->n;
}

const char *vol_path(const struct vol_set *vs, size_t d)
{
    return vs->v[d].path;
}

int vol_rbw_fd(const struct vol_set *vs, size_t d)
{
    return vs->v[d].rbw_fd;
}

const char *vol_storage_id(const struct vol_set *vs)
{
    return vs->storage_id;
}

int vol_usable(const struct vol_set *vs, size_t d)
{
    return !__atomic_load_n(&vs->v[d].failed, __ATOMIC_ACQUIRE);
}

size_t vol_failed(const struct vol_set *vs)
{
    return __atomic_load_n(&vs->nfailed, __ATOMIC_ACQUIRE);
}

const char *vol_failure(const struct vol_set *vs, size_t d)
{
    return vol_usable(vs, d) ? "" : vs->v[d].why;
}

int vol_fail(struct vol_set *vs, size_t d, int e, const char *what)
{
    struct vol *v = &vs->v[d];
    pthread_mutex_lock(&vs->mu);
    int first = !v->failed;
    if (first) {
        if (e)
            snprintf(v->why, sizeof v->why, "%s: %s", what, strerror(e));
        else
            snprintf(v->why, sizeof v->why, "%s", what);
        __atomic_store_n(&v->failed, 1, __ATOMIC_RELEASE);
        __atomic_store_n(&vs->nfailed, vs->nfailed + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&vs->mu);
    return first;
}

int vol_disk_error(int e)
{
    switch (e) {
    case EIO:
    case EROFS:
    case EACCES:
    case EPERM:
    case ENODEV:
    case ENXIO:
    case EUCLEAN:
        return 1;
    default:
        return 0;
    }
}

/* ---- probe ---------------------------------------------------------------- */

/* A full disk is not a broken one. */
static int full(int e)
{
    return e == ENOSPC || e == EDQUOT;
}

int vol_probe(struct vol_set *vs, size_t d, char *what, size_t whatsz)
{
    static const char *const subs[] = { "", "/rbw", "/finalized" };
    const char *dir = vs->v[d].path;
    char p[PATH_MAX];
    struct stat st;
    int fd, rc = 0;

    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        snprintf(p, sizeof p, "%s%s", dir, subs[i]);
        rc = stat(p, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        if (rc < 0) {
            snprintf(what, whatsz, "stat %s", p);
            return rc;
        }
    }
    snprintf(p, sizeof p, "%s/" PROBE_NAME, dir);
    if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        rc = -errno;
        snprintf(what, whatsz, "create %s", p);
        return full(-rc) ? 0 : rc;
    }
    static const uint8_t zeros[PROBE_LEN];
    ssize_t n = write(fd, zeros, sizeof zeros);
    if (n < 0 && !full(errno)) {
        rc = -errno;
        snprintf(what, whatsz, "write %s", p);
    } else if (fdatasync(fd) < 0 && !full(errno)) {
        rc = -errno;
        snprintf(what, whatsz, "fdatasync %s", p);
    }
    if (close(fd) < 0 && rc == 0 && errno != EINTR && !full(errno)) {
        rc = -errno;
        snprintf(what, whatsz, "close %s", p);
    }
    if (unlink(p) < 0 && rc == 0) {
        rc = -errno;
        snprintf(what, whatsz, "unlink %s", p);
    }
    return rc;
}

/* ---- VERSION and storage id ------------------------------------------------ */

static int storage_id_valid(const char *s)
{
    if (strlen(s) != VOL_STORAGE_ID_LEN || strncmp(s, "DS-", 3) != 0)
        return 0;
    return strspn(s + 3, "0123456789abcdef") == VOL_STORAGE_ID_LEN - 3;
}

/* Read <dir>/VERSION into id.  1 found, 0 absent, -1 malformed (an error
 * of the set: message), -2 unreadable (the dir fails: message). */
static int version_read(const char *dir, char *id, char *msg, size_t msgsz)
{
    char path[PATH_MAX], buf[4096];
    snprintf(path, sizeof path, "%s/VERSION", dir);
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(msg, msgsz, "open %s: %s", path, strerror(errno));
        return -2;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int bad = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (bad) {
        snprintf(msg, msgsz, "read %s: %s", path, strerror(bad));
        return -2;
    }
    buf[n] = '\0';
    int have_id = 0, have_layout = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "storage_id=", 11) == 0) {
            if (!storage_id_valid(line + 11)) {
                snprintf(msg, msgsz, "%s: bad storage_id \"%.40s\"", path, line + 11);
                return -1;
            }
            memcpy(id, line + 11, VOL_STORAGE_ID_LEN + 1);
            have_id = 1;
        } else if (strncmp(line, "layout=", 7) == 0) {
            if (strcmp(line + 7, "1") != 0) {
                snprintf(msg, msgsz, "%s: unsupported layout \"%.20s\" (this version reads %d)",
                       path, line + 7, VOL_LAYOUT);
                return -1;
            }
            have_layout = 1;
        }
    }
    if (!have_id || !have_layout) {
        snprintf(msg, msgsz, "%s: missing %s", path, have_id ? "layout" : "storage_id");
        return -1;
    }
    return 1;
}

/* Write <dir>/VERSION durably.  0, or -errno with the failed call in what. */
static int version_write(const char *dir, const char *id, char *what, size_t whatsz)
{
    char tmp[PATH_MAX], path[PATH_MAX], text[128];
    snprintf(tmp, sizeof tmp, "%s/VERSION.tmp", dir);
    snprintf(path, sizeof path, "%s/VERSION", dir);
    int len = snprintf(text, sizeof text, "storage_id=%s\nlayout=%d\n", id, VOL_LAYOUT);
    int rc = 0, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        snprintf(what, whatsz, "create %s", tmp);
        return rc;
    }
    ssize_t n = write(fd, text, (size_t)len);
    if (n != len) {
        rc = n < 0 ? -errno : -ENOSPC;
        snprintf(what, whatsz, "write %s", tmp);
    } else if (fsync(fd) < 0) {
        rc = -errno;
        snprintf(what, whatsz, "fsync %s", tmp);
    }
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0) {
        rc = -errno;
        snprintf(what, whatsz, "rename %s", tmp);
    }
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    if ((rc = vol_fsync_dir(dir)) < 0)
        snprintf(what, whatsz, "fsync %s", dir);
    return rc;
}

static int storage_id_new(char *id, char *msg, size_t msgsz)
{
    uint8_t r[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, msgsz, "/dev/urandom: %s", strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, r, sizeof r);
    int saved = errno;
    close(fd);
    if (n != (ssize_t)sizeof r) {
        snprintf(msg, msgsz, "/dev/urandom: %s", n < 0 ? strerror(saved) : "short read");
        return -1;
    }
    memcpy(id, "DS-", 3);
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(id + 3 + 2 * i, 3, "%02x", r[i]);
    return 0;
}

/* ---- open / close ---------------------------------------------------------- */

/* Fail dir d at open (e, what: as for vol_fail): log it and remember why. */
static void fail_at_open(struct vol_set *vs, size_t d, int e, const char *what)
{
    const char *ename = e ? strerrorname_np(e) : NULL;
    vol_fail(vs, d, e, what);
    LOG_ERROR("data dir %s failed at start: %s%s%s%s", vs->v[d].path, vs->v[d].why,
              ename ? " (" : "", ename ? ename : "", ename ? ")" : "");
}

/* Create and lock one data dir and its subdirs.  0; -errno with the failed
 * call and path in what; or 1 when another store holds the lock (what says
 * so). */
static int dir_prepare(struct vol *v, char *what, size_t whatsz)
{
    char p[PATH_MAX];
    const char *op = "mkdir";
    int rc;

    snprintf(p, sizeof p, "%s", v->path);
    if ((rc = mkdir_p(v->path)) < 0)
        goto fail;
    snprintf(p, sizeof p, "%s/in_use.lock", v->path);
    op = "open";
    if ((v->lock_fd = open(p, O_RDONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
        goto fail_errno;
    if (flock(v->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        rc = -errno;
        close(v->lock_fd);
        v->lock_fd = -1;
        if (rc == -EWOULDBLOCK) {
            snprintf(what, whatsz, "data dir already in use (locked by another store)");
            return 1;
        }
        op = "flock";
        goto fail;
    }
    op = "mkdir";
    snprintf(p, sizeof p, "%s/finalized", v->path);
    if ((rc = vol_mkdir_durable(p, v->path)) < 0)
        goto fail;
    snprintf(p, sizeof p, "%s/rbw", v->path);
    if ((rc = vol_mkdir_durable(p, v->path)) < 0)
        goto fail;
    op = "open";
    if ((v->rbw_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        goto fail_errno;
    return 0;
fail_errno:
    rc = -errno;
fail:
    snprintf(what, whatsz, "%s %s", op, p);
    return rc;
}

/* Agree on one storage id over the usable dirs and write VERSION where
 * missing.  0 or -1 (message). */
static int storage_id_setup(struct vol_set *vs, char *msg, size_t msgsz)
{
    char id[VOL_STORAGE_ID_LEN + 1], what[VOL_WHY_MAX];
    unsigned char *has = calloc(vs->n, 1);
    size_t from = 0;
    int found = 0, rc = -1;

    if (!has) {
        snprintf(msg, msgsz, "out of memory");
        return -1;
    }
    for (size_t d = 0; d < vs->n; d++) {
        if (!vol_usable(vs, d))
            continue;
        int r = version_read(vs->v[d].path, id, what, sizeof what);
        if (r == -1) {
            snprintf(msg, msgsz, "%s", what);
            goto out;
        }
        if (r == -2)
            fail_at_open(vs, d, 0, what);
        if (r != 1)
            continue;
        has[d] = 1;
        if (!found) {
            memcpy(vs->storage_id, id, sizeof id);
            from = d;
            found = 1;
        } else if (strcmp(id, vs->storage_id) != 0) {
            snprintf(msg, msgsz, "storage id mismatch: %s/VERSION has %s, %s/VERSION has %s",
                   vs->v[from].path, vs->storage_id, vs->v[d].path, id);
            goto out;
        }
    }
    if (!found && vol_failed(vs) < vs->n) {
        if (storage_id_new(vs->storage_id, msg, msgsz) < 0)
            goto out;
        LOG_INFO("data dirs: new storage id %s", vs->storage_id);
    }
    for (size_t d = 0; d < vs->n; d++) {
        int r;
        if (vol_usable(vs, d) && !has[d] &&
            (r = version_write(vs->v[d].path, vs->storage_id, what, sizeof what)) < 0)
            fail_at_open(vs, d, -r, what);
    }
    rc = 0;
out:
    free(has);
    return rc;
}

struct vol_set *vol_open(const char *const *dirs, size_t n, uint64_t reserved,
                         char *err, size_t errsz)
{
    struct vol_set *vs = NULL;
    char what[VOL_WHY_MAX], msg[VOL_WHY_MAX + 64];
    size_t msgsz = sizeof msg;

    if (n == 0 || n > UINT16_MAX) {
        snprintf(msg, msgsz, "%zu data dirs (need 1 to %u)", n, UINT16_MAX);
        goto fail;
    }
    if (!(vs = calloc(1, sizeof *vs)) || !(vs->v = calloc(n, sizeof *vs->v))) {
        free(vs);
        vs = NULL;
        snprintf(msg, msgsz, "out of memory");
        goto fail;
    }
    pthread_mutex_init(&vs->mu, NULL);
    vs->n = n;
    vs->reserved = reserved;
    for (size_t d = 0; d < n; d++)
        vs->v[d].lock_fd = vs->v[d].rbw_fd = -1;
    for (size_t d = 0; d < n; d++) {
        if (strlen(dirs[d]) == 0 || strlen(dirs[d]) >= DIR_PATH_MAX) {
            snprintf(msg, msgsz, "data dir \"%.64s\": empty or too long", dirs[d]);
            goto fail;
        }
        if (!(vs->v[d].path = strdup(dirs[d]))) {
            snprintf(msg, msgsz, "out of memory");
            goto fail;
        }
    }
    for (size_t d = 0; d < n; d++) {
        int rc = dir_prepare(&vs->v[d], what, sizeof what);
        if (rc == 0)
            rc = vol_probe(vs, d, what, sizeof what);
        if (rc != 0)
            fail_at_open(vs, d, rc > 0 ? 0 : -rc, what);
    }
    if (vol_failed(vs) < n && storage_id_setup(vs, msg, msgsz) < 0)
        goto fail;
    if (vol_failed(vs) == n) {
        snprintf(msg, msgsz, "no usable data dir: %s: %s", vs->v[0].path, vs->v[0].why);
        goto fail;
    }
    return vs;
fail:
    if (err && errsz)
        snprintf(err, errsz, "%s", msg);
    vol_close(vs);
    return NULL;
}

void vol_close(struct vol_set *vs)
{
    if (!vs)
        return;
    for (size_t d = 0; d < vs->n; d++) {
        if (vs->v[d].rbw_fd >= 0)
            close(vs->v[d].rbw_fd);
        if (vs->v[d].lock_fd >= 0)
            close(vs->v[d].lock_fd);    /* releases the flock */
        free(vs->v[d].path);
    }
    free(vs->v);
    pthread_mutex_destroy(&vs->mu);
    free(vs);
}

/* ---- space ----------------------------------------------------------------- */

/* statvfs of usable dir d: 0 with *cap and *rem, or -1 (logged). */
static int dir_space(struct vol_set *vs, size_t d, uint64_t *cap, uint64_t *rem)
{
    struct statvfs sv;
    if (statvfs(vs->v[d].path, &sv) < 0) {
        LOG_WARN("data dir %s: statvfs: %s", vs->v[d].path, strerror(errno));
        return -1;
    }
    uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    *cap = (uint64_t)sv.f_blocks * sv.f_frsize;
    *rem = avail > vs->reserved ? avail - vs->reserved : 0;
    return 0;
}

long vol_pick(struct vol_set *vs, uint64_t *avail)
{
    long best = -1;
    *avail = 0;
    for (size_t d = 0; d < vs->n; d++) {
        uint64_t cap, rem;
        if (vol_usable(vs, d) && dir_space(vs, d, &cap, &rem) == 0 && rem > *avail) {
            *avail = rem;
            best = (long)d;
        }
    }
    return best;
}

void vol_space(struct vol_set *vs, uint64_t *capacity, uint64_t *remaining)
{
    uint64_t cap = 0, rem = 0;
    for (size_t d = 0; d < vs->n; d++) {
        uint64_t c, r;
        if (vol_usable(vs, d) && dir_space(vs, d, &c, &r) == 0) {
            cap += c;
            rem += r;
        }
    }
    if (capacity)
        *capacity = cap;
    if (remaining)
        *remaining = rem;
}
