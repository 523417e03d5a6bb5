/*
 * log_level.c - the names of the log levels (see log.h), apart from the
 * logger itself: the configuration table checks a log_level key with
 * them, and the client library, which links the table, has no logger.
 */
#include <stddef.h>
#include <strings.h>

#include "log.h"

static const char *const level_names[] = {
    [DFS_LOG_ERROR] = "error",
    [DFS_LOG_WARN]  = "warn",
    [DFS_LOG_INFO]  = "info",
    [DFS_LOG_DEBUG] = "debug",
};

#define NLEVELS (sizeof(level_names) / sizeof(level_names[0]))

int dfs_log_level_parse(const char *s)
{
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < NLEVELS; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *dfs_log_level_name(enum dfs_log_level level)
{
    if ((unsigned)level >= NLEVELS)
        return "unknown";
    return level_names[level];
}
