/*
 * conf_daemon.c - the daemons' side of the configuration table: applying
 * a configuration loaded anew on SIGHUP (dfs_conf_reload), and writing it
 * out (dfs_conf_dump, dfs_conf_write_example for conf/dfs.conf).  They log
 * and print, so they live here, out of the client library; the table and
 * its loading stay in common/config.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_i.h"
#include "log.h"

int dfs_conf_reload(struct dfs_conf *c, const struct dfs_conf *fresh)
{
    char **copies = calloc(dfs_conf_nkeys, sizeof(*copies));
    int changed = 0;

    if (copies == NULL)
        return -1;

    /* Allocate first so that running out of memory changes nothing. */
    for (size_t i = 0; i < dfs_conf_nkeys; i++) {
        const struct conf_def *d = &dfs_conf_table[i];
        if (d->type != CT_STRING || !(d->flags & CF_RELOAD) ||
            strcmp(dfs_conf_str_value(c, d), dfs_conf_str_value(fresh, d)) == 0)
            continue;
        copies[i] = strdup(dfs_conf_str_value(fresh, d));
        if (copies[i] == NULL) {
            for (size_t j = 0; j < i; j++)
                free(copies[j]);
            free(copies);
            return -1;
        }
    }
    for (size_t i = 0; i < dfs_conf_nkeys; i++) {
        const struct conf_def *d = &dfs_conf_table[i];
        char was[32], now[32];
        int differs;

        if (d->type == CT_STRING)
            differs = strcmp(dfs_conf_str_value(c, d), dfs_conf_str_value(fresh, d)) != 0;
        else
            differs = dfs_conf_num_value(c, d) != dfs_conf_num_value(fresh, d);
        if (!differs)
            continue;
        if (!(d->flags & CF_RELOAD)) {
            LOG_WARN("config: %s.%s changed; restart to apply it", d->section, d->key);
            continue;
        }
        if (d->type == CT_STRING) {
            LOG_INFO("config: %s.%s = %s (was %s)", d->section, d->key,
                     copies[i], dfs_conf_str_value(c, d));
            free(*dfs_conf_str_field(c, d));
            *dfs_conf_str_field(c, d) = copies[i];
        } else {
            dfs_conf_format_num(d, dfs_conf_num_value(fresh, d), now, sizeof(now));
            dfs_conf_format_num(d, dfs_conf_num_value(c, d), was, sizeof(was));
            LOG_INFO("config: %s.%s = %s (was %s)", d->section, d->key, now, was);
            dfs_conf_set_num(c, d, dfs_conf_num_value(fresh, d));
        }
        changed++;
    }
    free(copies);
    return changed;
}

/* ------------------------------------------------------------- output */

/* The table as an INI file; commented: every key line as a comment. */
static void dump(const struct dfs_conf *c, int fd, int commented)
{
    const char *section = NULL;

    for (size_t i = 0; i < dfs_conf_nkeys; i++) {
        const struct conf_def *d = &dfs_conf_table[i];
        char num[32];
        const char *v = num;

        if (section == NULL || strcmp(section, d->section) != 0) {
            section = d->section;
            dprintf(fd, "\n[%s]\n", section);
        } else {
            dprintf(fd, "\n");
        }
        if (d->type == CT_STRING)
            v = dfs_conf_str_value(c, d);
        else
            dfs_conf_format_num(d, dfs_conf_num_value(c, d), num, sizeof(num));
        dprintf(fd, "# %s%s\n%s%s =%s%s\n", d->help,
                (d->flags & CF_RELOAD) ? " (reloadable)" : "",
                commented ? "# " : "", d->key, v[0] != '\0' ? " " : "", v);
    }
}

void dfs_conf_dump(const struct dfs_conf *c, int fd)
{
    dprintf(fd, "# dfs configuration in effect\n");
    dump(c, fd, 0);
}

void dfs_conf_write_example(int fd)
{
    struct dfs_conf c;

    if (dfs_conf_init(&c) < 0)
        return;
    dprintf(fd,
        "# conf/dfs.conf - example configuration of dfs.\n"
        "#\n"
        "# Every key is listed below, commented out at its default value;\n"
        "# uncomment a line to change it.  Sizes take a binary suffix K, M, G\n"
        "# or T (64K, 128M).  A command line sets a key with\n"
        "# -o section.key=value.  Keys marked (reloadable) take effect when the\n"
        "# daemon gets SIGHUP; the others need a restart.\n");
    dump(&c, fd, 1);
    dfs_conf_free(&c);
}
