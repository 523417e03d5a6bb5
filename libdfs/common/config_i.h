/*
 * config_i.h - the configuration table itself (common/config.c), for the
 * code outside config.c driven by it: the daemons' reload, dump and
 * example file (server/conf_daemon.c).  Private to libdfs.
 */
#ifndef DFS_CONFIG_I_H
#define DFS_CONFIG_I_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum conf_type {
    CT_STRING,  /* char *, malloc'd, owned by struct dfs_conf */
    CT_U32,     /* uint32_t, a decimal integer */
    CT_SIZE32,  /* uint32_t, a size with an optional suffix */
    CT_SIZE64   /* uint64_t, a size with an optional suffix */
};

#define CF_RELOAD  0x1u  /* applied by dfs_conf_reload() (SIGHUP) */
#define CF_ZERO_OK 0x2u  /* 0 ("use the default") allowed besides [min, max] */
#define CF_POW2    0x4u  /* numbers: a power of two */
#define CF_LIST    0x8u  /* strings: comma-separated, no empty element */

/* A string check: 1 when v is acceptable. */
typedef int (*conf_check_fn)(const char *v);

struct conf_def {
    const char *section;
    const char *key;
    enum conf_type type;
    const char *def;        /* default, parsed like a value from a file */
    uint64_t min, max;      /* numbers: bounds, inclusive */
    unsigned flags;         /* CF_* */
    size_t off;             /* of the field in struct dfs_conf */
    conf_check_fn check;    /* strings: NULL accepts any text */
    const char *expect;     /* strings: what check wants ("HOST:PORT") */
    const char *help;
};

/* The table, in the order the example file lists it. */
extern const struct conf_def dfs_conf_table[];
extern const size_t dfs_conf_nkeys;

/* The field of c a row sets: a string (never NULL: "" when unset) or a
 * number. */
static inline char **dfs_conf_str_field(struct dfs_conf *c, const struct conf_def *d)
{
    return (char **)(void *)((char *)c + d->off);
}

static inline const char *dfs_conf_str_value(const struct dfs_conf *c, const struct conf_def *d)
{
    const char *v = *(char *const *)(const void *)((const char *)c + d->off);
    return v != NULL ? v : "";
}

static inline uint64_t dfs_conf_num_value(const struct dfs_conf *c, const struct conf_def *d)
{
    const void *p = (const char *)c + d->off;

    if (d->type == CT_SIZE64)
        return *(const uint64_t *)p;
    return *(const uint32_t *)p;
}

static inline void dfs_conf_set_num(struct dfs_conf *c, const struct conf_def *d, uint64_t v)
{
    void *p = (char *)c + d->off;

    if (d->type == CT_SIZE64)
        *(uint64_t *)p = v;
    else
        *(uint32_t *)p = (uint32_t)v;
}

/* A number as the dump and the messages show it ("128M", "3"). */
void dfs_conf_format_num(const struct conf_def *d, uint64_t v, char *buf, size_t sz);

#endif
