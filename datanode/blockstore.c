/*
 * blockstore.c - the datanode's replica store (see blockstore.h): the
 * maps, the files, writers, failed dirs.  Re-reading a replica against its
 * checksums is bs_verify.c's; the .meta format is in blockstore_i.h.
 *
 * In memory, behind bs->lock, two hash tables keyed by block id:
 *   fin  finalized replicas: FINAL, or DELETING while bs_delete unlinks
 *   rbw  replicas in rbw/:   WRITING (a live writer), PARKED (files closed:
 *        left by a writer that went away, or found at open; bs_rbw.c
 *        reopens them), or DELETING
 * The rule that makes I/O outside the lock safe: a thread claims an id in a
 * table (WRITING, DELETING) before it touches that id's files, and an id
 * present in either table cannot be claimed again.
 *
 * The data dirs themselves (paths, locks, VERSION, space, health) are
 * volume.c's.  When a dir fails (dir_fail), its FINAL and PARKED entries
 * leave the tables under the lock, in the same critical section that
 * makes the failure visible to finalize: a replica is never added to the
 * map in a dir already swept.  WRITING and DELETING entries stay with
 * their owners, whose next I/O in the dir fails.
 *
 * Bad replicas: a FINAL entry's `bad` flag mirrors its marker file
 * blk_<I>_<G>.bad.  bs_mark_bad sets the flag under the lock and creates
 * the marker holding mark_lock; bs_delete removes the marker of a flagged
 * replica holding mark_lock too, so a marker is never created after its
 * replica's delete removed it.  A failed dir keeps its markers beside its
 * replicas (they are still bad when the dir comes back).
 */
#include "blockstore.h"
#include "blockstore_i.h"
#include "checksum.h"
#include "frame.h"
#include "log.h"
#include "u64map.h"
#include "volume.h"
#include "xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Add absent id in state st (other fields 0): the entry, or NULL when out
 * of memory. */
struct ent *bs_ent_add(struct u64tab *m, uint64_t id, enum ent_state st)
{
    struct ent *e = u64tab_add(m, id);
    if (e)
        e->state = (uint8_t)st;
    return e;
}

/* ---- the store ------------------------------------------------------ */

void bs_seterr(char *err, size_t errsz, const char *fmt, ...)
{
    if (!err || errsz == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

/* <dir>/finalized/subdirA/subdirB */
void bs_fin_dir_path(char *buf, const struct bs *bs, size_t d, uint64_t id)
{
    snprintf(buf, PATH_MAX, "%s/finalized/subdir%u/subdir%u", vol_path(bs->vol, d),
             (unsigned)((id >> 16) & 0x1f), (unsigned)((id >> 8) & 0x1f));
}

/* Data and meta paths of a replica in rbw/ or finalized/. */
void bs_replica_paths(const struct bs *bs, size_t d, int rbw, uint64_t id, uint64_t gs,
                          char *data, char *meta)
{
    char dir[PATH_MAX];
    if (rbw)
        snprintf(dir, sizeof dir, "%s/rbw", vol_path(bs->vol, d));
    else
        bs_fin_dir_path(dir, bs, d, id);
    snprintf(data, PATH_MAX, "%.*s/blk_%" PRIu64, BS_DIR_PATH_MAX, dir, id);
    snprintf(meta, PATH_MAX, "%.*s/blk_%" PRIu64 "_%" PRIu64 ".meta", BS_DIR_PATH_MAX, dir, id, gs);
}

/* Path of finalized replica (id, gs)'s bad marker in dir d, and of the
 * directory it sits in (fdir may be NULL). */
static void marker_path(const struct bs *bs, size_t d, uint64_t id, uint64_t gs, char *path,
                        char *fdir)
{
    char dir[PATH_MAX];
    bs_fin_dir_path(dir, bs, d, id);
    snprintf(path, PATH_MAX, "%.*s/blk_%" PRIu64 "_%" PRIu64 ".bad", BS_DIR_PATH_MAX, dir, id, gs);
    if (fdir)
        snprintf(fdir, PATH_MAX, "%s", dir);
}

/* ---- checking a replica's files ------------------------------------- */

/* Check a replica's files.  0 with *len (data size) and *chunk; 1 when
 * bad, with the reason in why.  exact: the meta size must match the data
 * length (finalized); else any size (rbw, written up to a crash). */
static int replica_check(const char *data, const char *meta, int exact,
                         uint64_t *len, uint32_t *chunk, char *why, size_t whysz)
{
    int dfd = -1, mfd = -1, rc = 1;
    struct stat ds, ms;
    uint8_t h[DFS_META_HDR_LEN];
    const char *bad;
    ssize_t n;

    if ((dfd = open(data, O_RDONLY | O_CLOEXEC)) < 0 || fstat(dfd, &ds) < 0) {
        snprintf(why, whysz, "data file: %s", strerror(errno));
        goto out;
    }
    if ((mfd = open(meta, O_RDONLY | O_CLOEXEC)) < 0 || fstat(mfd, &ms) < 0) {
        snprintf(why, whysz, "meta file: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(ds.st_mode) || !S_ISREG(ms.st_mode)) {
        snprintf(why, whysz, "not a regular file");
        goto out;
    }
    n = bs_pread_all(mfd, h, sizeof h, 0);
    if (n != (ssize_t)sizeof h) {
        snprintf(why, whysz, "meta file: %s", n < 0 ? strerror((int)-n) : "short header");
        goto out;
    }
    if ((bad = dfs_meta_header_check(h, chunk)) != NULL) {
        snprintf(why, whysz, "%s", bad);
        goto out;
    }
    *len = (uint64_t)ds.st_size;
    if (exact && (uint64_t)ms.st_size != dfs_meta_size(*len, *chunk)) {
        snprintf(why, whysz, "meta size %jd, expected %" PRIu64 " for %" PRIu64 " data bytes",
                 (intmax_t)ms.st_size, dfs_meta_size(*len, *chunk), *len);
        goto out;
    }
    rc = 0;
out:
    if (mfd >= 0)
        close(mfd);
    if (dfd >= 0)
        close(dfd);
    return rc;
}

/* ---- scan at open ------------------------------------------------------- */

/* A block file found by the scan, of one of three kinds (in their sort
 * order within one id). */
enum { ITEM_DATA, ITEM_META, ITEM_BAD };

struct item {
    uint64_t id, gs;
    int kind;           /* ITEM_DATA: blk_I, ITEM_META: blk_I_G.meta,
                         * ITEM_BAD: blk_I_G.bad (bs_mark_bad's marker) */
};

/* The file name of it. */
static void item_name(const struct item *it, char *name, size_t namesz)
{
    if (it->kind == ITEM_DATA)
        snprintf(name, namesz, "blk_%" PRIu64, it->id);
    else
        snprintf(name, namesz, "blk_%" PRIu64 "_%" PRIu64 "%s", it->id, it->gs,
                 it->kind == ITEM_META ? ".meta" : ".bad");
}

/* Parse a canonical decimal (no sign, no leading zero) ending at stop. */
static const char *parse_u64(const char *s, uint64_t *v)
{
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
        return NULL;
    uint64_t x = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return NULL;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return s;
}

/* 1 when name is blk_<I>, blk_<I>_<G>.meta or blk_<I>_<G>.bad in
 * canonical form (I > 0: 0 is no block id). */
static int parse_block_name(const char *name, struct item *it)
{
    const char *p;
    if (strncmp(name, "blk_", 4) != 0 || !(p = parse_u64(name + 4, &it->id)) || it->id == 0)
        return 0;
    if (*p == '\0') {
        it->gs = 0;
        it->kind = ITEM_DATA;
        return 1;
    }
    if (*p != '_' || !(p = parse_u64(p + 1, &it->gs)))
        return 0;
    if (strcmp(p, ".meta") == 0)
        it->kind = ITEM_META;
    else if (strcmp(p, ".bad") == 0)
        it->kind = ITEM_BAD;
    else
        return 0;
    return 1;
}

/* 1 and *k when name is subdir<k>, k in [0, 31]. */
static int parse_subdir(const char *name, unsigned *k)
{
    uint64_t v;
    const char *p;
    if (strncmp(name, "subdir", 6) != 0 || !(p = parse_u64(name + 6, &v)) || *p || v > 31)
        return 0;
    *k = (unsigned)v;
    return 1;
}

static int item_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind - y->kind;          /* data, metas, then markers */
    return x->gs == y->gs ? 0 : x->gs > y->gs ? -1 : 1;   /* newest first */
}

/* Move dirpath/<name of it> into <dir>/corrupt/ (never overwriting) and log
 * why.  Failures are logged; the scan goes on. */
static void move_aside(struct bs *bs, size_t d, const char *dirpath, const struct item *it,
                       const char *why)
{
    char name[64], src[PATH_MAX], cdir[PATH_MAX], dst[PATH_MAX];
    item_name(it, name, sizeof name);
    snprintf(src, sizeof src, "%.*s/%s", BS_DIR_PATH_MAX, dirpath, name);
    snprintf(cdir, sizeof cdir, "%s/corrupt", vol_path(bs->vol, d));
    if (mkdir(cdir, 0755) < 0 && errno != EEXIST) {
        LOG_ERROR("block store: %s: %s; cannot create %s: %s", src, why, cdir, strerror(errno));
        return;
    }
    for (int i = 0; i < 1000; i++) {
        if (i == 0)
            snprintf(dst, sizeof dst, "%.*s/%s", BS_DIR_PATH_MAX, cdir, name);
        else
            snprintf(dst, sizeof dst, "%.*s/%s.%d", BS_DIR_PATH_MAX, cdir, name, i);
        /* never replace an earlier file of the same name; link + unlink
         * where the file system cannot rename without replacing */
        int rc = renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE);
        if (rc < 0 && (errno == EINVAL || errno == ENOSYS) && (rc = link(src, dst)) == 0 &&
            unlink(src) < 0)
            LOG_ERROR("block store: %s: unlink: %s", src, strerror(errno));
        if (rc == 0) {
            LOG_WARN("block store: %s: %s; moved to %s", src, why, dst);
            return;
        }
        if (errno != EEXIST)
            break;
    }
    LOG_ERROR("block store: %s: %s; cannot move it to %s: %s", src, why, cdir, strerror(errno));
}

/* The markers mk[0..n) of one id in dirpath, once its replica there is
 * decided: the one of the kept replica's generation stamp flags it bad;
 * every other one (kept NULL: no replica of this id kept there) marks no
 * replica and is removed. */
static void scan_markers(const char *dirpath, const struct item *mk, size_t n, struct ent *kept)
{
    char name[64], path[PATH_MAX];
    for (size_t i = 0; i < n; i++) {
        if (kept && mk[i].gs == kept->gs) {
            kept->bad = 1;
            continue;
        }
        item_name(&mk[i], name, sizeof name);
        snprintf(path, sizeof path, "%.*s/%s", BS_DIR_PATH_MAX, dirpath, name);
        if (unlink(path) < 0 && errno != ENOENT)
            LOG_WARN("block store: %s: bad-replica marker of no replica here; cannot remove "
                     "it: %s", path, strerror(errno));
        else
            LOG_INFO("block store: %s: bad-replica marker of no replica here; removed", path);
    }
}

/* The verified length (bs_verified_len) of a replica found in rbw/ with
 * len data bytes; 0 (logged) when it cannot be read. */
static uint64_t rbw_scan_acked(const char *data, const char *meta, uint32_t chunk, uint64_t len)
{
    uint64_t acked = 0;
    int rc = -EIO;
    int dfd = open(data, O_RDONLY | O_CLOEXEC), mfd = open(meta, O_RDONLY | O_CLOEXEC);
    if (dfd >= 0 && mfd >= 0)
        rc = bs_verified_len(dfd, mfd, chunk, &acked);
    else
        rc = -errno;
    if (rc < 0)
        LOG_WARN("block store: %s: cannot read it: %s; its verified length is 0", data,
                 strerror(-rc));
    else if (acked < len)
        LOG_INFO("block store: %s: %" PRIu64 " bytes, %" PRIu64 " of them verified", data, len,
                 acked);
    if (dfd >= 0)
        close(dfd);
    if (mfd >= 0)
        close(mfd);
    return acked;
}

/* Take one group of files of one id (sorted by item_cmp) found in dirpath
 * of dir d: keep the replica (flagged bad when its marker is there) or
 * move files aside; remove markers of no replica.  placed: the files sit
 * where this id belongs.  0, or -1 when out of memory (message). */
static int scan_group(struct bs *bs, size_t d, const char *dirpath, int rbw, int placed,
                      const struct item *g, size_t n, char *err, size_t errsz)
{
    size_t nmark = 0;
    while (nmark < n && g[n - 1 - nmark].kind == ITEM_BAD)
        nmark++;
    const struct item *marks = g + (n - nmark);
    n -= nmark;
    int has_data = n > 0 && g[0].kind == ITEM_DATA;
    const struct item *metas = g + has_data;
    size_t nmeta = n - (size_t)has_data;
    char data[PATH_MAX], meta[PATH_MAX], why[256];
    uint64_t len;
    uint32_t chunk;
    struct u64tab *m = rbw ? &bs->rbw : &bs->fin;
    struct ent *e = NULL;
    uint64_t id = g[0].id, gs;
    int marked = 0;

    if (n > 0 && (!placed || !has_data || nmeta == 0)) {
        const char *reason = !placed ? "not in the subdir of its block id"
                           : !has_data ? "meta file without data file"
                           : "data file without meta file";
        for (size_t i = 0; i < n; i++)
            move_aside(bs, d, dirpath, &g[i], reason);
    }
    if (n == 0 || !placed || !has_data || nmeta == 0)
        goto markers;
    for (size_t i = 1; i < nmeta; i++)
        move_aside(bs, d, dirpath, &metas[i], "meta file of an older generation stamp");

    gs = metas[0].gs;
    snprintf(data, sizeof data, "%.*s/blk_%" PRIu64, BS_DIR_PATH_MAX, dirpath, id);
    snprintf(meta, sizeof meta, "%.*s/blk_%" PRIu64 "_%" PRIu64 ".meta", BS_DIR_PATH_MAX, dirpath,
             id, gs);
    if (replica_check(data, meta, !rbw, &len, &chunk, why, sizeof why)) {
        move_aside(bs, d, dirpath, &g[0], why);
        move_aside(bs, d, dirpath, &metas[0], why);
        goto markers;
    }
    for (size_t i = 0; !rbw && i < nmark; i++)
        marked |= marks[i].gs == gs;

    if ((e = u64tab_get(m, id)) != NULL) {
        /* the same id in two places: the lower generation stamp loses; of
         * two equal ones a replica flagged bad loses to a sound one, else
         * the first one found stays */
        char odir[PATH_MAX];
        const char *loser_dir = dirpath;
        size_t loser_d = d;
        int ours = e->gs < gs || (e->gs == gs && e->bad && !marked);
        struct item ld = { id, 0, ITEM_DATA }, lm = { id, gs, ITEM_META };
        if (ours) {
            if (rbw)
                snprintf(odir, sizeof odir, "%s/rbw", vol_path(bs->vol, e->dir));
            else
                bs_fin_dir_path(odir, bs, e->dir, id);
            loser_dir = odir;
            loser_d = e->dir;
            lm.gs = e->gs;
        }
        snprintf(why, sizeof why, "duplicate of blk_%" PRIu64 " with generation stamp %" PRIu64
                 "%s", id, ours ? gs : e->gs,
                 e->gs == gs && (ours ? e->bad : marked) ? ", this one flagged bad" : "");
        move_aside(bs, loser_d, loser_dir, &ld, why);
        move_aside(bs, loser_d, loser_dir, &lm, why);
        if (!ours) {
            e = NULL;
            goto markers;
        }
        if (e->bad) {           /* the loser's marker goes with it */
            struct item lb = { id, e->gs, ITEM_BAD };
            scan_markers(loser_dir, &lb, 1, NULL);
            e->bad = 0;
        }
        if (!rbw) {
            bs->used -= e->len + dfs_meta_size(e->len, e->chunk);
            bs->nfinal--;
        }
    } else if (!(e = bs_ent_add(m, id, rbw ? ENT_PARKED : ENT_FINAL))) {
        bs_seterr(err, errsz, "%s: out of memory for the replica map", vol_path(bs->vol, d));
        return -1;
    }
    e->gs = gs;
    e->len = len;
    e->chunk = chunk;
    e->dir = (uint16_t)d;
    if (rbw)
        e->u.acked = rbw_scan_acked(data, meta, chunk, len);
    if (!rbw) {
        bs->used += len + dfs_meta_size(len, chunk);
        bs->nfinal++;
    }
markers:
    scan_markers(dirpath, marks, nmark, rbw ? NULL : e);
    return 0;
}

/* Scan one directory: rbw/ (rbw set, depth 2 means "no subdirs"), or
 * finalized/ at depth 0, its subdirA at 1, subdirA/subdirB at 2 (a, b: the
 * subdir numbers so far).  0, -ENOMEM (message), or the -errno of
 * opendir/readdir (message: the call and path). */
static int scan_dir(struct bs *bs, size_t d, const char *path, int rbw, int depth,
                    unsigned a, unsigned b, char *err, size_t errsz)
{
    struct item *items = NULL, it;
    size_t n = 0, cap = 0;
    uint32_t subs = 0;
    unsigned k;
    int rc = -ENOMEM;
    struct dirent *de;
    DIR *dp = opendir(path);

    if (!dp) {
        if (errno == ENOTDIR && depth > 0) {
            LOG_WARN("block store: %s: not a directory; ignored", path);
            return 0;
        }
        rc = -errno;
        bs_seterr(err, errsz, "opendir %s", path);
        return rc;
    }
    for (;;) {
        errno = 0;
        if (!(de = readdir(dp)))
            break;
        if (!rbw && depth < 2 && parse_subdir(de->d_name, &k)) {
            subs |= 1u << k;
        } else if (parse_block_name(de->d_name, &it)) {
            if (n == cap) {
                size_t ncap = cap ? 2 * cap : 256;
                struct item *ni = realloc(items, ncap * sizeof *ni);
                if (!ni) {
                    bs_seterr(err, errsz, "%s: out of memory", path);
                    goto out;
                }
                items = ni;
                cap = ncap;
            }
            items[n++] = it;
        } else if (de->d_name[0] != '.') {
            LOG_DEBUG("block store: %s/%s: not a block file; ignored", path, de->d_name);
        }
    }
    if (errno) {
        rc = -errno;
        bs_seterr(err, errsz, "readdir %s", path);
        goto out;
    }
    closedir(dp);
    dp = NULL;

    if (n)
        qsort(items, n, sizeof *items, item_cmp);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && items[j].id == items[i].id; j++)
            ;
        uint64_t id = items[i].id;
        int placed = rbw || (depth == 2 && ((id >> 16) & 0x1f) == a && ((id >> 8) & 0x1f) == b);
        if (scan_group(bs, d, path, rbw, placed, items + i, j - i, err, errsz) < 0)
            goto out;           /* rc is -ENOMEM */
    }
    for (k = 0; k < 32; k++) {
        char sub[PATH_MAX];
        if (!(subs & (1u << k)))
            continue;
        snprintf(sub, sizeof sub, "%.*s/subdir%u", BS_DIR_PATH_MAX, path, k);
        if ((rc = scan_dir(bs, d, sub, rbw, depth + 1, depth == 0 ? k : a, depth == 1 ? k : b,
                           err, errsz)) < 0)
            goto out;
    }
    rc = 0;
out:
    if (dp)
        closedir(dp);
    free(items);
    return rc;
}

/* ---- failed dirs ----------------------------------------------------- */

struct lost {
    uint64_t id, gs, len;
};

/* Drop dir d's FINAL and LEFTOVER entries (bs->lock held); the FINAL ones
 * are appended to *lost (xrealloc'ed; *nlost of them). */
static void sweep_dir(struct bs *bs, size_t d, struct lost **lost, size_t *nlost)
{
    size_t cap = 0;
    for (int t = 0; t < 2; t++) {
        struct u64tab *m = t == 0 ? &bs->fin : &bs->rbw;
        uint8_t st = t == 0 ? ENT_FINAL : ENT_PARKED;
        /* u64tab_del shifts later entries back into slot i: look at i again */
        for (size_t i = 0; i < m->cap;) {
            struct ent *e = u64tab_at(m, i);
            if (!e || e->state != st || e->dir != d) {
                i++;
                continue;
            }
            if (t == 0) {
                if (*nlost == cap) {
                    cap = cap ? 2 * cap : 64;
                    *lost = xrealloc(*lost, cap * sizeof **lost);
                }
                (*lost)[(*nlost)++] = (struct lost){ e->id, e->gs, e->len };
                bs->nfinal--;
                bs->used -= e->len + dfs_meta_size(e->len, e->chunk);
            }
            u64tab_del(m, e);
        }
    }
}

/* Fail dir d because `what` (the call and path) failed with errno e (0:
 * what is the whole reason).  When this call failed it: drop its replicas,
 * log it, report each dropped replica lost and tell the owner (hooks).
 * Any thread; no lock held. */
static void dir_fail(struct bs *bs, size_t d, int e, const char *what)
{
    struct lost *lost = NULL;
    size_t nlost = 0;

    /* under bs->lock: finalize checks the dir under it before adding */
    pthread_mutex_lock(&bs->lock);
    int first = vol_fail(bs->vol, d, e, what);
    if (first)
        sweep_dir(bs, d, &lost, &nlost);
    pthread_mutex_unlock(&bs->lock);
    if (!first)
        return;
    size_t nfailed = vol_failed(bs->vol), n = vol_count(bs->vol);
    const char *ename = e ? strerrorname_np(e) : NULL;
    LOG_ERROR("data dir %s failed: %s (%s); %zu replicas dropped; %zu of %zu data dirs failed",
              vol_path(bs->vol, d), vol_failure(bs->vol, d), ename ? ename : "-", nlost,
              nfailed, n);
    pthread_mutex_lock(&bs->hook_lock);
    for (size_t i = 0; bs->on_changed && i < nlost; i++)
        bs->on_changed(bs->on_changed_arg, lost[i].id);
    for (size_t i = 0; bs->on_lost && i < nlost; i++)
        bs->on_lost(bs->on_lost_arg, lost[i].id, lost[i].gs, lost[i].len);
    if (bs->on_failed)
        bs->on_failed(bs->on_failed_arg, vol_path(bs->vol, d), e, nfailed, n);
    pthread_mutex_unlock(&bs->hook_lock);
    free(lost);
}

/* rc: the result (-errno) of `op` on `path` in dir d.  A disk error
 * (vol_disk_error) fails the dir.  Returns rc. */
int bs_io_check(struct bs *bs, size_t d, int rc, const char *op, const char *path)
{
    if (rc < 0 && vol_disk_error(-rc) && vol_usable(bs->vol, d)) {
        char what[PATH_MAX + 32];
        snprintf(what, sizeof what, "%s %s", op, path);
        dir_fail(bs, d, -rc, what);
    }
    return rc;
}

size_t bs_check_dirs(struct bs *bs)
{
    char what[PATH_MAX + 32];
    size_t n = 0;
    for (size_t d = 0; d < vol_count(bs->vol); d++) {
        if (!vol_usable(bs->vol, d))
            continue;
        int rc = vol_probe(bs->vol, d, what, sizeof what);
        if (rc < 0 && vol_usable(bs->vol, d)) {
            dir_fail(bs, d, -rc, what);
            n++;
        }
    }
    LOG_DEBUG("data dir check: %zu of %zu usable", vol_count(bs->vol) - vol_failed(bs->vol),
              vol_count(bs->vol));
    return n;
}

size_t bs_failed_dirs(struct bs *bs, size_t *ndirs)
{
    if (ndirs)
        *ndirs = vol_count(bs->vol);
    return vol_failed(bs->vol);
}

void bs_on_dir_failed(struct bs *bs, bs_dir_failed_fn fn, void *arg)
{
    pthread_mutex_lock(&bs->hook_lock);
    bs->on_failed = fn;
    bs->on_failed_arg = arg;
    pthread_mutex_unlock(&bs->hook_lock);
}

void bs_on_replica_lost(struct bs *bs, bs_replica_lost_fn fn, void *arg)
{
    pthread_mutex_lock(&bs->hook_lock);
    bs->on_lost = fn;
    bs->on_lost_arg = arg;
    pthread_mutex_unlock(&bs->hook_lock);
}

void bs_on_replica_changed(struct bs *bs, bs_replica_changed_fn fn, void *arg)
{
    pthread_mutex_lock(&bs->hook_lock);
    bs->on_changed = fn;
    bs->on_changed_arg = arg;
    pthread_mutex_unlock(&bs->hook_lock);
}

void bs_changed(struct bs *bs, uint64_t id)
{
    pthread_mutex_lock(&bs->hook_lock);
    if (bs->on_changed)
        bs->on_changed(bs->on_changed_arg, id);
    pthread_mutex_unlock(&bs->hook_lock);
}

/* ---- open / close ---------------------------------------------------- */

/* bs_open (strict: every dir must be usable) and bs_open_tolerant. */
static struct bs *store_open(const char *const *dirs, size_t ndirs, uint64_t reserved,
                             int strict, char *err, size_t errsz)
{
    char msg[PATH_MAX + 64];
    struct bs *bs;
    struct vol_set *vs = vol_open(dirs, ndirs, reserved, err, errsz);

    if (!vs)
        return NULL;
    for (size_t d = 0; strict && d < ndirs; d++) {
        if (!vol_usable(vs, d)) {
            bs_seterr(err, errsz, "data dir %s: %s", vol_path(vs, d), vol_failure(vs, d));
            vol_close(vs);
            return NULL;
        }
    }
    if (!(bs = calloc(1, sizeof *bs))) {
        vol_close(vs);
        bs_seterr(err, errsz, "block store: out of memory");
        return NULL;
    }
    bs->vol = vs;
    bs->reserved = reserved;
    u64tab_init(&bs->fin, sizeof(struct ent));
    u64tab_init(&bs->rbw, sizeof(struct ent));
    pthread_mutex_init(&bs->lock, NULL);
    pthread_mutex_init(&bs->mark_lock, NULL);
    pthread_mutex_init(&bs->hook_lock, NULL);
    for (size_t d = 0; d < ndirs; d++) {
        for (int rbw = 0; rbw < 2 && vol_usable(vs, d); rbw++) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/%s", vol_path(vs, d), rbw ? "rbw" : "finalized");
            int rc = scan_dir(bs, d, p, rbw, rbw ? 2 : 0, 0, 0, msg, sizeof msg);
            if (rc == -ENOMEM) {
                bs_seterr(err, errsz, "%s", msg);
                goto fail;
            }
            if (rc < 0 && strict) {
                bs_seterr(err, errsz, "%s: %s", msg, strerror(-rc));
                goto fail;
            }
            if (rc < 0)
                dir_fail(bs, d, -rc, msg);
        }
    }
    if (vol_failed(vs) == ndirs) {
        bs_seterr(err, errsz, "no usable data dir: %s: %s", vol_path(vs, 0), vol_failure(vs, 0));
        goto fail;
    }
    size_t nbad = 0;
    for (size_t i = 0; i < bs->fin.cap; i++) {
        const struct ent *e = u64tab_at(&bs->fin, i);
        nbad += e && e->bad;
    }
    LOG_INFO("block store: %zu data dir(s) (%zu failed), storage %s, %zu finalized replicas "
             "(%zu flagged bad), %zu in rbw", ndirs, vol_failed(vs), vol_storage_id(vs),
             bs->nfinal, nbad, bs->rbw.count);
    return bs;
fail:
    bs_close(bs);
    return NULL;
}

struct bs *bs_open(const char *const *dirs, size_t ndirs, uint64_t reserved,
                   char *err, size_t errsz)
{
    return store_open(dirs, ndirs, reserved, 1, err, errsz);
}

struct bs *bs_open_tolerant(const char *const *dirs, size_t ndirs, uint64_t reserved,
                            char *err, size_t errsz)
{
    return store_open(dirs, ndirs, reserved, 0, err, errsz);
}

void bs_close(struct bs *bs)
{
    if (!bs)
        return;
    vol_close(bs->vol);
    u64tab_free(&bs->fin);
    u64tab_free(&bs->rbw);
    pthread_mutex_destroy(&bs->hook_lock);
    pthread_mutex_destroy(&bs->mark_lock);
    pthread_mutex_destroy(&bs->lock);
    free(bs);
}

const char *bs_storage_id(const struct bs *bs)
{
    return vol_storage_id(bs->vol);
}

/* ---- writer --------------------------------------------------------- */

/* Drop w's claim on its id (rbw entry) under the lock. */
void bs_writer_unclaim(struct bs_writer *w)
{
    struct bs *bs = w->bs;
    pthread_mutex_lock(&bs->lock);
    struct ent *e = u64tab_get(&bs->rbw, w->id);
    if (e && e->state == ENT_WRITING)
        u64tab_del(&bs->rbw, e);
    pthread_mutex_unlock(&bs->lock);
}

/* Unlink w's files (in rbw/ or finalized/), close, unclaim, free. */
void bs_writer_discard(struct bs_writer *w, int rbw)
{
    char data[PATH_MAX], meta[PATH_MAX];
    /* best effort in a failed dir: no complaint */
    int quiet = !vol_usable(w->bs->vol, w->dir);
    bs_replica_paths(w->bs, w->dir, rbw, w->id, w->gs, data, meta);
    if (unlink(data) < 0 && errno != ENOENT && !quiet) {
        int e = errno;
        LOG_ERROR("block store: %s: unlink: %s", data, strerror(e));
        bs_io_check(w->bs, w->dir, -e, "unlink", data);
    }
    if (unlink(meta) < 0 && errno != ENOENT && !quiet) {
        int e = errno;
        LOG_ERROR("block store: %s: unlink: %s", meta, strerror(e));
        bs_io_check(w->bs, w->dir, -e, "unlink", meta);
    }
    if (w->data_fd >= 0)
        close(w->data_fd);
    if (w->meta_fd >= 0)
        close(w->meta_fd);
    bs_writer_unclaim(w);
    free(w);
}

/* Create w's files in rbw/ of dir w->dir and write the meta header.  0, or
 * -errno with a message (the files are gone again); a disk error has
 * failed the dir. */
static int writer_files(struct bs_writer *w, char *err, size_t errsz)
{
    char data[PATH_MAX], meta[PATH_MAX];
    uint8_t h[DFS_META_HDR_LEN];
    const char *op = "create", *what = data;
    int rc;

    bs_replica_paths(w->bs, w->dir, 1, w->id, w->gs, data, meta);
    if ((w->data_fd = open(data, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        rc = -errno;
        goto fail;
    }
    what = meta;
    if ((w->meta_fd = open(meta, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        rc = -errno;
        goto fail;
    }
    dfs_meta_header(h, w->chunk);
    op = "write";
    if ((rc = bs_pwrite_all(w->meta_fd, h, sizeof h, 0)) < 0)
        goto fail;
    return 0;

fail:
    bs_seterr(err, errsz, "%s: %s", what, strerror(-rc));
    if (w->meta_fd >= 0) {
        close(w->meta_fd);
        unlink(meta);
    }
    if (w->data_fd >= 0) {
        close(w->data_fd);
        unlink(data);
    }
    w->data_fd = w->meta_fd = -1;
    return bs_io_check(w->bs, w->dir, rc, op, what);
}

/* rc: the -errno of `op` on w's data (meta 0) or meta file in rbw/; see
 * io_check.  Returns rc. */
int bs_writer_io(struct bs_writer *w, int rc, const char *op, int meta)
{
    char data[PATH_MAX], mpath[PATH_MAX];
    if (!vol_disk_error(-rc))
        return rc;
    bs_replica_paths(w->bs, w->dir, 1, w->id, w->gs, data, mpath);
    return bs_io_check(w->bs, w->dir, rc, op, meta ? mpath : data);
}

struct bs_writer *bs_writer_create(struct bs *bs, uint64_t id, uint64_t gs,
                                   uint32_t chunk_size, char *err, size_t errsz)
{
    struct bs_writer *w;
    struct ent *e;
    uint64_t avail;
    int saved;

    if (id == 0) {
        bs_seterr(err, errsz, "blk_0: 0 is not a block id");
        errno = EINVAL;
        return NULL;
    }
    if (!dfs_chunk_size_valid(chunk_size)) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": invalid chunk size %" PRIu32
                  " (a power of two from %u to %u)", id, chunk_size, DFS_CHUNK_MIN, DFS_CHUNK_MAX);
        errno = EINVAL;
        return NULL;
    }
    if (!(w = calloc(1, sizeof *w))) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": out of memory", id);
        errno = ENOMEM;
        return NULL;
    }
    *w = (struct bs_writer){ .bs = bs, .id = id, .gs = gs, .chunk = chunk_size,
                             .data_fd = -1, .meta_fd = -1 };

    pthread_mutex_lock(&bs->lock);
    const char *busy = NULL;
    if ((e = u64tab_get(&bs->fin, id)) != NULL)
        busy = e->state == ENT_DELETING ? "is being deleted" : "already exists";
    else if ((e = u64tab_get(&bs->rbw, id)) != NULL)
        busy = e->state == ENT_WRITING ? "is being written"
             : e->state == ENT_PARKED ? "has an unfinished copy in rbw/"
             : "is being deleted";
    if (busy) {
        saved = e->state == ENT_DELETING ? EBUSY : EEXIST;
        pthread_mutex_unlock(&bs->lock);
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " %s", id, busy);
        goto fail_free;
    }
    /* room in fin for every writer's finalize, so that it cannot fail */
    if (u64tab_reserve(&bs->fin, bs->fin.count + bs->rbw.count + 1) < 0 ||
        !(e = bs_ent_add(&bs->rbw, id, ENT_WRITING))) {
        pthread_mutex_unlock(&bs->lock);
        bs_seterr(err, errsz, "blk_%" PRIu64 ": out of memory for the replica map", id);
        saved = ENOMEM;
        goto fail_free;
    }
    e->gs = gs;
    e->chunk = chunk_size;
    e->u.w = w;
    pthread_mutex_unlock(&bs->lock);

    /* A dir that fails on the create is left for the next best one. */
    for (;;) {
        long d = vol_pick(bs->vol, &avail);
        if (d < 0) {
            int none = vol_failed(bs->vol) == vol_count(bs->vol);
            if (none)
                bs_seterr(err, errsz, "blk_%" PRIu64 ": no usable data dir (all %zu failed)", id,
                          vol_count(bs->vol));
            else
                bs_seterr(err, errsz, "blk_%" PRIu64 ": no data dir has room (%" PRIu64
                          " bytes reserved per dir)", id, bs->reserved);
            saved = none ? EIO : ENOSPC;
            goto fail_unclaim;
        }
        w->dir = (uint16_t)d;
        int rc = writer_files(w, err, errsz);
        if (rc == 0)
            break;
        if (vol_usable(bs->vol, (size_t)d)) {
            saved = -rc;
            goto fail_unclaim;
        }
    }
    pthread_mutex_lock(&bs->lock);
    if ((e = u64tab_get(&bs->rbw, id)) != NULL)
        e->dir = w->dir;
    pthread_mutex_unlock(&bs->lock);
    return w;

fail_unclaim:
    bs_writer_unclaim(w);
fail_free:
    free(w);
    errno = saved;
    return NULL;
}

int bs_writer_write(struct bs_writer *w, uint64_t offset, const void *data, size_t len,
                    const uint8_t *sums_be, size_t nsums)
{
    uint64_t bytes = __atomic_load_n(&w->bytes, __ATOMIC_RELAXED);
    int rc;

    if (offset % w->chunk != 0 || offset > bytes - bytes % w->chunk)
        return -EINVAL;
    if (len > (uint64_t)INT64_MAX - offset)
        return -EFBIG;
    if (nsums != dfs_nchunks(len, w->chunk))
        return -EINVAL;
    if (len == 0)
        return 0;
    if (!vol_usable(w->bs->vol, w->dir))
        return -EIO;
    if ((rc = bs_pwrite_all(w->data_fd, data, len, offset)) < 0)
        return bs_writer_io(w, rc, "write", 0);
    if ((rc = bs_pwrite_all(w->meta_fd, sums_be, 8 * nsums,
                         DFS_META_HDR_LEN + 8 * (offset / w->chunk))) < 0)
        return bs_writer_io(w, rc, "write", 1);
    if (offset + len > bytes)
        __atomic_store_n(&w->bytes, offset + len, __ATOMIC_RELAXED);
    if (offset + len >= w->flushed + BS_SYNC_BEHIND) {
        /* Only starts the writes; errors surface at the final fsync. */
        sync_file_range(w->data_fd, (off64_t)w->flushed, (off64_t)(offset + len - w->flushed),
                        SYNC_FILE_RANGE_WRITE);
        w->flushed = offset + len;
    }
    return 0;
}

int bs_writer_sync(struct bs_writer *w)
{
    if (!vol_usable(w->bs->vol, w->dir))
        return -EIO;
    if (fdatasync(w->data_fd) < 0)
        return bs_writer_io(w, -errno, "fdatasync", 0);
    if (fdatasync(w->meta_fd) < 0)
        return bs_writer_io(w, -errno, "fdatasync", 1);
    if (!w->rbw_synced) {
        if (fsync(vol_rbw_fd(w->bs->vol, w->dir)) < 0) {
            char rbw[PATH_MAX];
            int rc = -errno;
            snprintf(rbw, sizeof rbw, "%s/rbw", vol_path(w->bs->vol, w->dir));
            return bs_io_check(w->bs, w->dir, rc, "fsync", rbw);
        }
        w->rbw_synced = 1;
    }
    return 0;
}

uint64_t bs_writer_bytes(const struct bs_writer *w)
{
    return __atomic_load_n(&w->bytes, __ATOMIC_RELAXED);
}

void bs_writer_abort(struct bs_writer *w)
{
    if (w)
        bs_writer_discard(w, 1);
}

int bs_writer_finalize(struct bs_writer *w, uint64_t length)
{
    struct bs *bs = w->bs;
    char rdata[PATH_MAX], rmeta[PATH_MAX], fdata[PATH_MAX], fmeta[PATH_MAX];
    char fdir[PATH_MAX], top[PATH_MAX], mid[PATH_MAX];
    uint64_t bytes = bs_writer_bytes(w);
    const char *what = rdata, *op = NULL;
    int rc = 0, moved = 0;

    bs_replica_paths(bs, w->dir, 1, w->id, w->gs, rdata, rmeta);
    bs_replica_paths(bs, w->dir, 0, w->id, w->gs, fdata, fmeta);
    snprintf(top, sizeof top, "%s/finalized", vol_path(bs->vol, w->dir));
    if (!vol_usable(bs->vol, w->dir)) {
        what = top;
        rc = -EIO;
        goto fail;
    }
    if (length > bytes) {
        LOG_ERROR("block store: blk_%" PRIu64 ": finalize at %" PRIu64 " but only %" PRIu64
                  " bytes written", w->id, length, bytes);
        rc = -EINVAL;
        goto fail;
    }
    if (length < bytes && length % w->chunk != 0 &&
        (rc = bs_recut_chunk(w->data_fd, w->meta_fd, w->chunk, length, bytes, rdata)) < 0)
        goto fail;
    op = "truncate or fsync";
    if (ftruncate(w->data_fd, (off_t)length) < 0 || fsync(w->data_fd) < 0)
        goto fail_errno;
    what = rmeta;
    if (ftruncate(w->meta_fd, (off_t)dfs_meta_size(length, w->chunk)) < 0 || fsync(w->meta_fd) < 0)
        goto fail_errno;

    snprintf(mid, sizeof mid, "%.*s/subdir%u", BS_DIR_PATH_MAX, top, (unsigned)((w->id >> 16) & 0x1f));
    bs_fin_dir_path(fdir, bs, w->dir, w->id);
    what = fdir;
    op = "mkdir";
    if ((rc = vol_mkdir_durable(mid, top)) < 0 || (rc = vol_mkdir_durable(fdir, mid)) < 0)
        goto fail;
    /* meta first: a crash in between leaves a lone meta, moved aside at open */
    what = fmeta;
    op = "rename to";
    if (rename(rmeta, fmeta) < 0)
        goto fail_errno;
    moved = 1;
    what = fdata;
    if (rename(rdata, fdata) < 0)
        goto fail_errno;
    moved = 2;
    what = fdir;
    op = "fsync";
    if ((rc = vol_fsync_dir(fdir)) < 0)
        goto fail;
    what = rdata;
    if (fsync(vol_rbw_fd(bs->vol, w->dir)) < 0)
        goto fail_errno;

    close(w->data_fd);
    close(w->meta_fd);
    w->data_fd = w->meta_fd = -1;
    pthread_mutex_lock(&bs->lock);
    if (!vol_usable(bs->vol, w->dir)) {
        /* the dir failed meanwhile and was swept: do not add to it */
        pthread_mutex_unlock(&bs->lock);
        what = top;
        rc = -EIO;
        goto fail;
    }
    struct ent *e = u64tab_get(&bs->rbw, w->id);
    if (e)
        u64tab_del(&bs->rbw, e);
    if ((e = bs_ent_add(&bs->fin, w->id, ENT_FINAL)) != NULL) {
        e->gs = w->gs;
        e->len = length;
        e->chunk = w->chunk;
        e->dir = w->dir;
        bs->nfinal++;
        bs->used += length + dfs_meta_size(length, w->chunk);
    }
    pthread_mutex_unlock(&bs->lock);
    if (!e) {   /* cannot happen: bs_writer_create reserved the slot */
        LOG_ERROR("block store: %s: out of memory for the replica map; reported after restart",
                  fdata);
        free(w);
        return -ENOMEM;
    }
    free(w);
    return 0;

fail_errno:
    rc = -errno;
fail:
    if (!vol_usable(bs->vol, w->dir))
        LOG_WARN("block store: blk_%" PRIu64 ": finalize failed: data dir %s has failed; "
                 "replica discarded", w->id, vol_path(bs->vol, w->dir));
    else
        LOG_ERROR("block store: blk_%" PRIu64 ": finalize failed: %s%s%s: %s; replica discarded",
                  w->id, op ? op : "", op ? " " : "", what, strerror(-rc));
    bs_io_check(bs, w->dir, rc, op ? op : "finalize", what);
    if (moved == 1)
        unlink(fmeta);      /* data is still in rbw/ */
    bs_writer_discard(w, moved == 2 ? 0 : 1);
    return rc;
}

/* ---- reading ---------------------------------------------------------- */

int bs_open_replica(struct bs *bs, uint64_t id, uint64_t gs, struct bs_replica *r,
                    char *err, size_t errsz)
{
    char data[PATH_MAX], meta[PATH_MAX];
    struct ent cur = { 0 };
    int rc;

    r->data_fd = r->meta_fd = -1;
    pthread_mutex_lock(&bs->lock);
    struct ent *e = u64tab_get(&bs->fin, id);
    if (e && e->state == ENT_FINAL)
        cur = *e;
    pthread_mutex_unlock(&bs->lock);
    if (cur.state != ENT_FINAL) {
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " not found", id);
        return -ENOENT;
    }
    if (cur.gs != gs) {
        bs_seterr(err, errsz, "replica blk_%" PRIu64 ": stale generation stamp (replica has %"
                  PRIu64 ", asked for %" PRIu64 ")", id, cur.gs, gs);
        return -ESTALE;
    }
    bs_replica_paths(bs, cur.dir, 0, id, gs, data, meta);
    if ((r->data_fd = open(data, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = -errno;
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " %s: %s: %s", id,
                  rc == -ENOENT ? "not found" : "unreadable", data, strerror(-rc));
        return rc;
    }
    if ((r->meta_fd = open(meta, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = -errno;
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " %s: %s: %s", id,
                  rc == -ENOENT ? "not found" : "unreadable", meta, strerror(-rc));
        close(r->data_fd);
        r->data_fd = -1;
        return rc;
    }
    r->length = cur.len;
    r->genstamp = cur.gs;
    r->chunk_size = cur.chunk;
    r->tail_set = 0;
    return 0;
}

int bs_read_sums(const struct bs_replica *r, uint64_t first_chunk, size_t n, uint8_t *out_be)
{
    uint64_t nchunks = dfs_nchunks(r->length, r->chunk_size);
    if (first_chunk > nchunks || n > nchunks - first_chunk)
        return -EINVAL;
    ssize_t got = bs_pread_all(r->meta_fd, out_be, 8 * n, DFS_META_HDR_LEN + 8 * first_chunk);
    if (got < 0)
        return (int)got;
    if ((size_t)got != 8 * n)
        return -EIO;
    if (r->tail_set && r->tail_chunk >= first_chunk && r->tail_chunk - first_chunk < n)
        memcpy(out_be + 8 * (r->tail_chunk - first_chunk), r->tail_sum, 8);
    return 0;
}

void bs_close_replica(struct bs_replica *r)
{
    if (r->data_fd >= 0)
        close(r->data_fd);
    if (r->meta_fd >= 0)
        close(r->meta_fd);
    r->data_fd = r->meta_fd = -1;
}

/* ---- delete, verify, queries -------------------------------------------- */

int bs_delete(struct bs *bs, uint64_t id)
{
    return bs_delete_upto(bs, id, UINT64_MAX);
}

int bs_delete_upto(struct bs *bs, uint64_t id, uint64_t max_gs)
{
    char data[PATH_MAX], meta[PATH_MAX];
    struct u64tab *m = &bs->fin;
    int rc = 0;

    pthread_mutex_lock(&bs->lock);
    struct ent *e = u64tab_get(m, id);
    if (!e || e->state != ENT_FINAL) {
        m = &bs->rbw;
        if (!(e = u64tab_get(m, id)) || e->state != ENT_PARKED) {
            rc = e && e->state == ENT_WRITING ? -EBUSY : -ENOENT;
            pthread_mutex_unlock(&bs->lock);
            return rc;
        }
    }
    if (e->gs > max_gs) {
        pthread_mutex_unlock(&bs->lock);
        return -ESTALE;
    }
    if (m == &bs->fin) {
        bs->nfinal--;
        bs->used -= e->len + dfs_meta_size(e->len, e->chunk);
    }
    e->state = ENT_DELETING;
    struct ent cur = *e;
    pthread_mutex_unlock(&bs->lock);
    if (m == &bs->fin)
        bs_changed(bs, id);     /* before the files go */

    bs_replica_paths(bs, cur.dir, m == &bs->rbw, id, cur.gs, data, meta);
    if (unlink(data) < 0 && errno != ENOENT) {
        rc = -errno;
        LOG_ERROR("block store: %s: unlink: %s", data, strerror(-rc));
        bs_io_check(bs, cur.dir, rc, "unlink", data);
    }
    if (unlink(meta) < 0 && errno != ENOENT) {
        int saved = errno;
        rc = rc ? rc : -saved;
        LOG_ERROR("block store: %s: unlink: %s", meta, strerror(saved));
        bs_io_check(bs, cur.dir, -saved, "unlink", meta);
    }
    if (cur.bad) {
        /* last: a crash before it leaves a lone marker, removed at open */
        pthread_mutex_lock(&bs->mark_lock);
        marker_path(bs, cur.dir, id, cur.gs, meta, NULL);
        if (unlink(meta) < 0 && errno != ENOENT) {
            int saved = errno;
            rc = rc ? rc : -saved;
            LOG_ERROR("block store: %s: unlink: %s", meta, strerror(saved));
            bs_io_check(bs, cur.dir, -saved, "unlink", meta);
        }
        pthread_mutex_unlock(&bs->mark_lock);
    }

    pthread_mutex_lock(&bs->lock);
    if ((e = u64tab_get(m, id)) != NULL)
        u64tab_del(m, e);
    pthread_mutex_unlock(&bs->lock);
    return rc;
}

int bs_mark_bad(struct bs *bs, uint64_t id, uint64_t gs, char *err, size_t errsz)
{
    char path[PATH_MAX], fdir[PATH_MAX];
    struct ent cur = { 0 };
    int rc = 0, fd;

    pthread_mutex_lock(&bs->mark_lock);
    pthread_mutex_lock(&bs->lock);
    struct ent *e = u64tab_get(&bs->fin, id);
    if (e && e->state == ENT_FINAL && e->gs == gs)
        e->bad = 1;
    if (e && e->state == ENT_FINAL)
        cur = *e;
    pthread_mutex_unlock(&bs->lock);
    if (cur.state == ENT_FINAL && cur.gs == gs)
        bs_changed(bs, id);
    if (cur.state != ENT_FINAL || cur.gs != gs) {
        pthread_mutex_unlock(&bs->mark_lock);
        if (cur.state != ENT_FINAL) {
            bs_seterr(err, errsz, "replica blk_%" PRIu64 " not found", id);
            return -ENOENT;
        }
        bs_seterr(err, errsz, "replica blk_%" PRIu64 ": stale generation stamp (replica has %"
                  PRIu64 ", asked for %" PRIu64 ")", id, cur.gs, gs);
        return -ESTALE;
    }
    /* create even when flagged already: an earlier create may have failed */
    marker_path(bs, cur.dir, id, gs, path, fdir);
    const char *op = "create", *what = path;
    if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
        rc = -errno;
    else if (close(fd) < 0)
        rc = -errno;
    else if ((rc = vol_fsync_dir(fdir)) < 0) {
        op = "fsync";
        what = fdir;
    }
    pthread_mutex_unlock(&bs->mark_lock);
    if (rc < 0) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": flagged bad, but not kept across a restart: %s %s: "
                  "%s", id, op, what, strerror(-rc));
        bs_io_check(bs, cur.dir, rc, op, what);
    }
    return rc;
}

int bs_is_bad(struct bs *bs, uint64_t id)
{
    pthread_mutex_lock(&bs->lock);
    struct ent *e = u64tab_get(&bs->fin, id);
    int bad = e && e->state == ENT_FINAL && e->bad;
    pthread_mutex_unlock(&bs->lock);
    return bad;
}

int bs_replica_path(struct bs *bs, uint64_t id, char *data, size_t datasz)
{
    char d[PATH_MAX], m[PATH_MAX];
    struct ent cur = { 0 };

    pthread_mutex_lock(&bs->lock);
    struct ent *e = u64tab_get(&bs->fin, id);
    if (e && e->state == ENT_FINAL)
        cur = *e;
    pthread_mutex_unlock(&bs->lock);
    if (cur.state != ENT_FINAL)
        return -ENOENT;
    bs_replica_paths(bs, cur.dir, 0, id, cur.gs, d, m);
    snprintf(data, datasz, "%s", d);
    return 0;
}

int bs_lookup(struct bs *bs, uint64_t id, uint64_t *gs, uint64_t *len)
{
    int found = 0;
    pthread_mutex_lock(&bs->lock);
    struct ent *e = u64tab_get(&bs->fin, id);
    if (e && e->state == ENT_FINAL) {
        found = 1;
        if (gs)
            *gs = e->gs;
        if (len)
            *len = e->len;
    }
    pthread_mutex_unlock(&bs->lock);
    return found;
}

/* Walk the entries of m in state st under the lock. */
static int foreach_state(struct bs *bs, struct u64tab *m, uint8_t st,
                         int (*cb)(uint64_t, uint64_t, uint64_t, void *), void *arg)
{
    int rc = 0;
    pthread_mutex_lock(&bs->lock);
    for (size_t i = 0; i < m->cap && rc == 0; i++) {
        const struct ent *e = u64tab_at(m, i);
        if (e && e->state == st)
            rc = cb(e->id, e->gs, e->len, arg);
    }
    pthread_mutex_unlock(&bs->lock);
    return rc;
}

int bs_foreach(struct bs *bs, int (*cb)(uint64_t id, uint64_t gs, uint64_t len, void *arg),
               void *arg)
{
    return foreach_state(bs, &bs->fin, ENT_FINAL, cb, arg);
}

int bs_foreach_rbw(struct bs *bs, int (*cb)(uint64_t id, uint64_t gs, uint64_t len, void *arg),
                   void *arg)
{
    int rc = 0;
    pthread_mutex_lock(&bs->lock);
    for (size_t i = 0; i < bs->rbw.cap && rc == 0; i++) {
        const struct ent *e = u64tab_at(&bs->rbw, i);
        if (e && e->state == ENT_PARKED)
            rc = cb(e->id, e->gs, e->len, arg);
        else if (e && e->state == ENT_WRITING && e->u.w)
            rc = cb(e->id, e->gs, bs_writer_bytes(e->u.w), arg);
    }
    pthread_mutex_unlock(&bs->lock);
    return rc;
}

void bs_space(struct bs *bs, uint64_t *capacity, uint64_t *used, uint64_t *remaining)
{
    vol_space(bs->vol, capacity, remaining);
    if (used) {
        pthread_mutex_lock(&bs->lock);
        *used = bs->used;
        pthread_mutex_unlock(&bs->lock);
    }
}

size_t bs_count(struct bs *bs)
{
    pthread_mutex_lock(&bs->lock);
    size_t n = bs->nfinal;
    pthread_mutex_unlock(&bs->lock);
    return n;
}
