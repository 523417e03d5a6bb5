/*
 * shell.h - private header of the dfs shell (client/dfs.c, client/shell_*.c).
 *
 * The shell uses the public API of dfs.h only.  Its pieces:
 *   dfs.c          main, global options, the command table, help, dispatch
 *   shell_util.c   errors and exit codes, option parsing, number parsing,
 *                  formatting (modes, times, sizes, JSON), paths, tree walk
 *   shell_ns.c     namespace commands: mkdir ls stat touch rm mv setrep
 *                  chmod chown
 *   shell_data.c   data commands: put append get cat (and the progress line)
 *   xfer.c         a ring of buffers and a thread that writes them, so get
 *                  and cat read from dfs while the local write goes on
 *   shell_admin.c  cluster and locality commands: locate report df du
 *   shell_fsck.c   fsck
 *   shell_query.c  questions about files: test count find checksum tail head
 *   shell_glob.c   wildcards in path operands (* ? [...] {a,b})
 *   shell_copy.c   cp (inside dfs, through this client) and getmerge
 *
 * Conventions: a command is a function cmd_NAME(sh, argc, argv) where
 * argv[0] is the command name; it returns the process exit status.  An
 * operation that fails is reported with sh_fail*() (which records it) and
 * the command goes on with its next operand; sh_status() turns the record
 * into the exit status.  Allocation failures end the process (xmalloc).
 */
#ifndef DFS_SHELL_H
#define DFS_SHELL_H

#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "dfs.h"

/* Exit statuses. */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,        /* an operation failed */
    EXIT_USAGE = 2,       /* bad command line or configuration */
    EXIT_INTERRUPTED = 130
};

/* State of one run of the shell. */
struct shell {
    const char *cmd;      /* command name, for messages */
    dfs_options *opts;    /* built by main from conf, env and flags */
    dfs_fs *fs;           /* NULL until sh_connect() */
    int failed;           /* an operation failed: exit status 1 */
    int stdout_broken;    /* writing stdout failed: stop writing */
};

/* One entry of the command table (dfs.c). */
struct sh_command {
    const char *name;
    int (*fn)(struct shell *sh, int argc, char **argv);
    const char *usage;    /* after "dfs " */
    const char *summary;  /* one line */
    const char *help;     /* description and options, several lines */
};

/* ---------------------------------------------------------- shell_util.c */

/* Allocation that ends the process with a message when memory runs out. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growing vector of strings it owns. */
struct sh_strvec {
    char **v;
    size_t n, cap;
};
/* Append s (malloc'ed; the vector takes it; NULL allowed as a terminator). */
void sv_push(struct sh_strvec *sv, char *s);
/* Free every string and the vector; leaves it empty for reuse. */
void sv_free(struct sh_strvec *sv);

/* Longest path the shell handles, with its NUL. */
#define DFS_SH_PATH_MAX 4097

/* Connect sh->fs if not yet done (and learn the handle's working
 * directory, against which relative paths are shown and globbed).  On failure reports
 * "dfs: CMD: PATH: MESSAGE" (or "dfs: CMD: MESSAGE" when path is NULL) and
 * returns the library's code; the caller then exits 1. */
int sh_connect(struct shell *sh, const char *path);

/* Report a failed library call on path: "dfs: CMD: PATH: MESSAGE" with
 * MESSAGE = dfs_errmsg(), or dfs_strerror(rc) when the message is empty.
 * rc may be negative (-err from a byte-count call).  Records the failure. */
void sh_fail(struct shell *sh, const char *path, int rc);
/* Same, but every mention of tmp (a temporary name the user never gave)
 * in the library's message is replaced by path.  tmp may be NULL. */
void sh_fail_as(struct shell *sh, const char *path, int rc, const char *tmp);
/* Report "dfs: CMD: PATH: strerror(err)" for a local error.  Records it. */
void sh_fail_errno(struct shell *sh, const char *path, int err);
/* Report "dfs: CMD: PATH: <formatted>" (PATH omitted when NULL).  Records. */
void sh_failf(struct shell *sh, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Print "dfs: CMD: <formatted>" and "Try 'dfs help CMD'." to stderr and
 * return EXIT_USAGE. */
int sh_usage(struct shell *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether stdout still works.  The first write error on it is reported
 * ("write error: ..."; silently for EPIPE, a reader that went away) and
 * recorded as a failure.  Loops that print call it to stop early. */
int sh_stdout_ok(struct shell *sh);
/* Record a failed write(2) of errno err on stdout as sh_stdout_ok() does. */
void sh_stdout_error(struct shell *sh, int err);
/* Exit status of a command from what was recorded: 0 or 1, 128 + signal
 * after an interruption; flushes stdout first (sh_stdout_ok()). */
int sh_status(struct shell *sh);

/* getopt_long() for a command (argv[0] is the command name; call with
 * optind = 0 first, which sh_opt_reset() does).  Options may be mixed with
 * operands; "--" ends them.  An unknown option or a missing argument is
 * reported as a usage message and returned as '?'. */
void sh_opt_reset(void);
int sh_getopt(struct shell *sh, int argc, char **argv, const char *optstring,
              const struct option *longopts);

/* Strict parsers: the whole string must be a number in range.  Return 0 on
 * success, -1 otherwise. */
int parse_uint(const char *s, unsigned long long min, unsigned long long max,
               unsigned long long *out);
/* Size with an optional binary suffix K, M, G or T (case-insensitive). */
int parse_size(const char *s, uint64_t *out);
/* Octal permission bits: 1 to 5 octal digits, at most 07777 ("0644"). */
int parse_mode(const char *s, unsigned *out);

/* "drwxr-xr-x" for a type and permission bits (out has 11 bytes). */
void fmt_mode(char out[11], enum dfs_file_type type, unsigned mode);
/* Local time "YYYY-MM-DD HH:MM", with with_ms "YYYY-MM-DD HH:MM:SS.mmm". */
void fmt_time(char *out, size_t len, uint64_t ms, int with_ms);
/* "512", "1.5K", "3.0M" ... (1024-based, one decimal). */
void fmt_human(char *out, size_t len, uint64_t n);
/* Plain decimal, or fmt_human when human != 0. */
void fmt_size(char *out, size_t len, uint64_t n, int human);

/* Write s as a JSON string (quoted, escaped). */
void json_str(FILE *out, const char *s);
/* Write the JSON object of a file or directory (no newline):
 * {"path":..,"type":..,"length":..,"replication":..,"block_size":..,
 *  "mtime":..,"owner":..,"group":..,"mode":"0644"} */
void json_stat(FILE *out, const char *path, const struct dfs_stat *st);

/* dir + "/" + name without doubling slashes; caller frees. */
char *path_join(const char *dir, const char *name);
/* Last component of path, without trailing slashes ("" for "/"); caller frees. */
char *path_base(const char *path);
/* Everything before the last component ("/" for "/a"); caller frees. */
char *path_dir(const char *path);
/* The canonical absolute form of a path for display, as the library
 * resolves it (dfs_resolve_path(): against the working directory, no
 * repeated slashes, "." or ".." components, trailing slash: "//a/./b/../c/"
 * -> "/a/c").  Before sh_connect(), or for a path the library refuses
 * (".." above the root), path unchanged.  Caller frees. */
char *path_normalize(const char *path);
/* The handle's working directory ("/" before sh_connect()); a static
 * buffer, valid until the next call. */
const char *sh_workdir(void);
/* Whether path names the root ("/", "//", ...). */
int path_is_root(const char *path);
/* Whether path ends in '/' (so it can only name a directory). */
int path_ends_in_slash(const char *path);

/* Pre-order walk: fn(path, st) for path and, when it is a directory,
 * for every entry below it.  A directory that cannot be listed is
 * reported with sh_fail().  fn reports its own failures. */
typedef void (*sh_walk_fn)(struct shell *sh, const char *path,
                           const struct dfs_stat *st, void *arg);
void sh_walk(struct shell *sh, const char *path, const struct dfs_stat *st,
             sh_walk_fn fn, void *arg);

/* Write all of buf to fd, retrying on EINTR; 0 or an errno value. */
int write_all(int fd, const void *buf, size_t len);
/* Fill buf from fd until len bytes or end of file; bytes read or -errno. */
ssize_t read_full(int fd, void *buf, size_t len);
/* Current time, ms since the epoch / monotonic seconds. */
uint64_t now_ms(void);
double mono_now(void);

/* SIGINT/SIGTERM/SIGHUP during a transfer: the first one sets
 * sh_interrupted (so the command can remove its temporary file), a second
 * one kills. */
extern volatile sig_atomic_t sh_interrupted;
void sh_trap_signals(int on);

/* --------------------------------------------------------- shell_glob.c */

/* Whether s holds an unquoted wildcard: * ? [ or {. */
int sh_has_glob(const char *s);
/* The operands argv[0..argc) with every pattern replaced by its matches
 * (absolute, in name order); an operand without wildcards passes as it
 * is.  A pattern matching nothing is reported ("dfs: CMD: PATTERN: No
 * such file or directory") and dropped; silently with quiet.  Needs
 * sh->fs.  Returns a NULL-terminated vector of *count strings for
 * sh_glob_free(). */
char **sh_glob_args(struct shell *sh, int argc, char **argv, int *count, int quiet);
void sh_glob_free(char **v);

/* ------------------------------------------------------------ commands */

int cmd_mkdir(struct shell *sh, int argc, char **argv);
int cmd_ls(struct shell *sh, int argc, char **argv);
int cmd_stat(struct shell *sh, int argc, char **argv);
int cmd_touch(struct shell *sh, int argc, char **argv);
int cmd_rm(struct shell *sh, int argc, char **argv);
int cmd_mv(struct shell *sh, int argc, char **argv);
int cmd_setrep(struct shell *sh, int argc, char **argv);
int cmd_chmod(struct shell *sh, int argc, char **argv);
int cmd_chown(struct shell *sh, int argc, char **argv);
int cmd_put(struct shell *sh, int argc, char **argv);
int cmd_append(struct shell *sh, int argc, char **argv);
int cmd_get(struct shell *sh, int argc, char **argv);
int cmd_cat(struct shell *sh, int argc, char **argv);
int cmd_cp(struct shell *sh, int argc, char **argv);
int cmd_getmerge(struct shell *sh, int argc, char **argv);
int cmd_locate(struct shell *sh, int argc, char **argv);
int cmd_report(struct shell *sh, int argc, char **argv);
int cmd_df(struct shell *sh, int argc, char **argv);
int cmd_du(struct shell *sh, int argc, char **argv);
int cmd_safemode(struct shell *sh, int argc, char **argv);
int cmd_admin(struct shell *sh, int argc, char **argv);
int cmd_fsck(struct shell *sh, int argc, char **argv);
int cmd_test(struct shell *sh, int argc, char **argv);
int cmd_count(struct shell *sh, int argc, char **argv);
int cmd_find(struct shell *sh, int argc, char **argv);
int cmd_checksum(struct shell *sh, int argc, char **argv);
int cmd_tail(struct shell *sh, int argc, char **argv);
int cmd_head(struct shell *sh, int argc, char **argv);
int cmd_move_from_local(struct shell *sh, int argc, char **argv);

#endif /* DFS_SHELL_H */
