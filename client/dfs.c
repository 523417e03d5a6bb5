/*
 * dfs.c - the dfs shell: `dfs [-n NAMENODE] [-u USER] [-v] CMD [ARGS...]`.
 *
 * main() parses the global options, finds the command in the table below,
 * builds the client options (config file, then $DFS_NAMENODE, then -n) and
 * runs the command.  The table also drives `dfs help`.  The commands live
 * in shell_ns.c, shell_data.c, shell_query.c, shell_admin.c and
 * shell_fsck.c (see shell.h).
 */
#include <stdlib.h>
#include <string.h>

#include "shell.h"

#ifndef DFS_SHELL_VERSION
#define DFS_SHELL_VERSION "0.1.0"
#endif

static int cmd_help(struct shell *sh, int argc, char **argv);

/* ------------------------------------------------------- command table */

static const struct sh_command commands[] = {
    { "mkdir", cmd_mkdir, "mkdir [-p] PATH...",
      "Create directories",
      "Create each directory PATH with mode 0755.\n"
      "\n"
      "  -p   create missing parent directories too; an existing directory\n"
      "       is not an error\n" },
    { "ls", cmd_ls, "ls [-l] [-R] [-d] [--json] [PATH...]",
      "List directories and files",
      "List the entries of each directory PATH (default: the working directory,\n"
      "/user/NAME), one full path per\n"
      "line; a file PATH lists the file itself.  Entries come in name order and\n"
      "are streamed: any directory size lists in bounded memory.\n"
      "\n"
      "  -l       long format, like hdfs dfs -ls:\n"
      "           MODE REPL OWNER GROUP SIZE YYYY-MM-DD HH:MM PATH\n"
      "           (REPL is '-' for directories; local time)\n"
      "  -R       recurse: each directory is followed by its subtree\n"
      "  -d       list a directory itself, not its entries\n"
      "  --json   one JSON array of objects with the keys of 'dfs stat --json'\n" },
    { "stat", cmd_stat, "stat [--json] PATH...",
      "Show the attributes of files and directories",
      "Print type, size, replication, block size, mode, owner, group and\n"
      "modification time of each PATH.\n"
      "\n"
      "  --json   one JSON object per line:\n"
      "           {\"path\":..,\"type\":\"file\"|\"dir\",\"length\":..,\"replication\":..,\n"
      "            \"block_size\":..,\"mtime\":MS,\"owner\":..,\"group\":..,\"mode\":\"0644\"}\n" },
    { "touch", cmd_touch, "touch PATH...",
      "Create empty files or update modification times",
      "Create each PATH as an empty file (mode 0644); when it exists (file or\n"
      "directory), set its modification time to now.\n" },
    { "rm", cmd_rm, "rm [-r] [-f] PATH...",
      "Remove files and directories",
      "Remove each PATH.  A directory needs -r, even when empty.  The root\n"
      "directory is never removed.\n"
      "\n"
      "  -r, -R   remove directories and their contents\n"
      "  -f       a missing PATH is not an error\n" },
    { "mv", cmd_mv, "mv SRC... DST",
      "Move or rename files and directories",
      "Rename SRC to DST; when DST is an existing directory, SRC moves into\n"
      "it.  An existing file DST is not replaced.  With several SRC, DST must\n"
      "be an existing directory.\n" },
    { "cp", cmd_cp, "cp [-f] [-p] SRC... DST",
      "Copy files and directories inside dfs",
      "Copy SRC to DST; when DST is an existing directory, SRC goes into it.\n"
      "A directory SRC is copied with everything below it.  The bytes pass\n"
      "through this client; each copy is written as .NAME._COPYING_ and\n"
      "renamed into place once complete.  With several SRC, DST must be an\n"
      "existing directory.\n"
      "\n"
      "  -f   replace an existing file DST\n"
      "  -p   keep mode, owner, group, times, replication and block size\n" },
    { "setrep", cmd_setrep, "setrep [-w [-t SECONDS]] N PATH...",
      "Change the replication of files",
      "Set the replication of each file PATH to N (1..10).  A directory PATH\n"
      "means every file below it.  The namenode adds or removes replicas in\n"
      "the background.\n"
      "\n"
      "  -w           wait until every block of every file has N good replicas\n"
      "               (\"Waiting for PATH ... done\"); Ctrl-C stops waiting\n"
      "  -t SECONDS   with -w: give up (exit 1) after this long\n" },
    { "chmod", cmd_chmod, "chmod [-R] MODE PATH...",
      "Change permissions",
      "Set the permission bits of each PATH to MODE, an octal number such as\n"
      "755 or 0644.\n"
      "\n"
      "  -R   apply to the whole tree below each directory PATH\n" },
    { "chown", cmd_chown, "chown [-R] OWNER[:GROUP] PATH...",
      "Change owner and group",
      "Set the owner and, when given, the group of each PATH; ':GROUP' changes\n"
      "the group only.\n"
      "\n"
      "  -R   apply to the whole tree below each directory PATH\n" },
    { "put", cmd_put, "put [-r REPL] [-b BLOCKSIZE] [-f] [-p] LOCAL... [REMOTE]",
      "Copy local files into dfs",
      "Copy each LOCAL file ('-': standard input, which needs REMOTE) to\n"
      "REMOTE (default: the working directory /user/NAME, created when\n"
      "missing, once LOCAL opened).  When REMOTE is an\n"
      "existing directory, the files keep their names in it; several LOCAL\n"
      "need such a directory.  Data goes to REMOTE_DIR/.NAME._COPYING_ first\n"
      "and is renamed on success: a failed copy leaves nothing under NAME,\n"
      "and a killed put's ._COPYING_ file is deleted once its lease expires.\n"
      "\n"
      "  -r REPL        replication of the new files (1..10)\n"
      "  -b BLOCKSIZE   block size of the new files; suffixes K, M, G (1024-based)\n"
      "  -f             replace an existing file\n"
      "  -p             preserve the local permission bits and modification time\n" },
    { "copyFromLocal", cmd_put,
      "copyFromLocal [-r REPL] [-b BLOCKSIZE] [-f] [-p] LOCAL... [REMOTE]",
      "Same as put",
      "The name hdfs dfs users know for 'dfs put'; see 'dfs help put'.\n" },
    { "moveFromLocal", cmd_move_from_local,
      "moveFromLocal [-r REPL] [-b BLOCKSIZE] [-f] [-p] LOCAL... [REMOTE]",
      "Like put, then delete the local files",
      "Copy as 'dfs put' does, then delete each LOCAL file, only once its copy\n"
      "is complete under its final name.  A LOCAL that failed stays.\n" },
    { "append", cmd_append, "append LOCAL... REMOTE",
      "Append local files to a dfs file",
      "Append each LOCAL file ('-': standard input) to the file REMOTE, in\n"
      "order, as one writer (like hdfs dfs -appendToFile).  REMOTE is created\n"
      "when missing.  Its last block is reopened when partial; readers see\n"
      "the old length until the append ends.  Every LOCAL must open before\n"
      "anything is appended; what was appended before a failure stays.  A\n"
      "file another client is writing is refused (\"being written\"); one\n"
      "whose writer died is recovered first (this waits for it).\n" },
    { "get", cmd_get, "get [-f] REMOTE... [LOCAL]",
      "Copy dfs files to the local file system",
      "Copy each REMOTE file to LOCAL ('-': standard output; default: the\n"
      "current local directory).  When LOCAL is an\n"
      "existing directory, the files keep their names in it; several REMOTE\n"
      "need such a directory.  Data goes to LOCAL.tmp-XXXXXX first and is\n"
      "renamed on success: a failed copy leaves no partial file.\n"
      "\n"
      "  -f   replace an existing local file\n" },
    { "copyToLocal", cmd_get, "copyToLocal [-f] REMOTE... [LOCAL]",
      "Same as get",
      "The name hdfs dfs users know for 'dfs get'; see 'dfs help get'.\n" },
    { "cat", cmd_cat, "cat PATH...",
      "Print files on standard output",
      "Write the contents of each file PATH to standard output, in order.\n" },
    { "getmerge", cmd_getmerge, "getmerge [--nl] [--skip-empty-file] SRC... LOCAL",
      "Concatenate files into one local file",
      "Write the files SRC (a directory SRC: its files, not its\n"
      "subdirectories, in name order) one after the other into the local\n"
      "file LOCAL, replacing it.  LOCAL appears only once every source is\n"
      "in; a source that cannot be read is reported and skipped.\n"
      "\n"
      "  --nl               a newline after each file\n"
      "  --skip-empty-file  no newline after an empty file\n" },
    { "text", cmd_cat, "text PATH...",
      "Same as cat",
      "Print files as 'dfs cat' does (dfs stores no compressed or sequence\n"
      "files for text to decode).\n" },
    { "head", cmd_head, "head PATH",
      "Print the first kilobyte of a file",
      "Write the first 1024 bytes of the file PATH to standard output.\n" },
    { "tail", cmd_tail, "tail [-f] PATH",
      "Print the last kilobyte of a file",
      "Write the last 1024 bytes of the file PATH to standard output.\n"
      "\n"
      "  -f   then follow the file: every half second, print what was added\n"
      "       to it (a file being written grows with each hflush), until\n"
      "       interrupted (Ctrl-C, SIGTERM: exit status 0)\n" },
    { "test", cmd_test, "test -e|-d|-f|-s|-z PATH",
      "Answer a question about a path with the exit status",
      "Exit 0 when the test holds, 1 when not (or PATH does not exist), 2 on\n"
      "a usage error.  A pattern holds when it matches and every match passes.\n"
      "\n"
      "  -e   PATH exists\n"
      "  -d   PATH is a directory\n"
      "  -f   PATH is a file\n"
      "  -s   PATH is a file longer than 0 bytes\n"
      "  -z   PATH is a file of 0 bytes (or a directory)\n" },
    { "count", cmd_count, "count [-q] [-h] [-v] PATH...",
      "Count the directories, files and bytes under paths",
      "One line per PATH, like hdfs dfs -count:\n"
      "  DIR_COUNT FILE_COUNT CONTENT_SIZE PATHNAME\n"
      "(DIR_COUNT counts a directory PATH itself).\n"
      "\n"
      "  -q   quota columns first: QUOTA REM_QUOTA SPACE_QUOTA REM_SPACE_QUOTA,\n"
      "       always \"none inf none inf\" (dfs has no quotas)\n"
      "  -h   human-readable sizes (K, M, G, T; 1024-based)\n"
      "  -v   a header line\n" },
    { "find", cmd_find, "find [PATH...] [-name GLOB | -iname GLOB] [-type f|d] [-print | -print0]",
      "Find files and directories by name",
      "Walk each PATH (default: the working directory) and print every file\n"
      "and directory below it, PATH included, that matches the expression.\n"
      "\n"
      "  -name GLOB    the last component matches GLOB (*, ?, [...]; quote it)\n"
      "  -iname GLOB   the same, ignoring case\n"
      "  -type f|d     files only / directories only\n"
      "  -print        one path per line (the default)\n"
      "  -print0       each path followed by a NUL byte\n" },
    { "checksum", cmd_checksum, "checksum PATH...",
      "Print the checksum of files",
      "For each file PATH print PATH, TAB, COMPOSITE-CRC32, TAB, and the\n"
      "CRC-32 of its content in 8 hex digits.  The datanodes compute it; two\n"
      "copies of the same bytes have the same checksum whatever their block\n"
      "sizes.  A file being written fails (\"being written\").\n" },
    { "locate", cmd_locate, "locate [--json] PATH...",
      "Show where the blocks of files are",
      "Print each block of each file PATH: offset, length, id, generation\n"
      "stamp and the datanodes holding it (closest first) with their racks.\n"
      "\n"
      "  --json   one JSON object per file:\n"
      "           {\"path\":..,\"length\":..,\"blocks\":[{\"offset\":..,\"length\":..,\n"
      "            \"id\":..,\"genstamp\":..,\"locations\":[{\"host\":..,\"port\":..,\n"
      "            \"rack\":..}]}]}   (a bad replica adds \"corrupt\":true)\n" },
    { "report", cmd_report, "report [--json]",
      "Show the state of the cluster and its datanodes",
      "Print capacity, usage, block and file counts, under-replicated and\n"
      "corrupt blocks, safe mode, and for every datanode its address, storage\n"
      "id, rack, state, space, blocks, time since its last heartbeat,\n"
      "replica fsyncs done for hsync, and the block bytes clients read from\n"
      "it since it started (as of its last heartbeat): over TCP from its own\n"
      "address (locally), over TCP from elsewhere (remotely), and by\n"
      "short-circuit reads.\n"
      "\n"
      "  --json   one JSON object (last_heartbeat in seconds; \"fsyncs\",\n"
      "           \"bytes_read_local\", \"bytes_read_remote\" and\n"
      "           \"bytes_read_short_circuit\" per datanode, and the three\n"
      "           bytes_read_* summed over the datanodes at the top)\n" },
    { "df", cmd_df, "df [-h]",
      "Show the capacity and free space of the file system",
      "Print size, used and available space of the cluster and the use\n"
      "percentage, like hdfs dfs -df.\n"
      "\n"
      "  -h   human-readable sizes (K, M, G, T; 1024-based)\n" },
    { "du", cmd_du, "du [-s] [-h] PATH...",
      "Show the space used by files and directories",
      "For a directory PATH, one line per entry: SIZE SPACE_CONSUMED PATH,\n"
      "where SIZE is the length in bytes (of the whole tree for a directory)\n"
      "and SPACE_CONSUMED counts every replica.  A file PATH gives its own line.\n"
      "\n"
      "  -s   one line for PATH itself (its whole tree)\n"
      "  -h   human-readable sizes (K, M, G, T; 1024-based)\n" },
    { "fsck", cmd_fsck, "fsck [--files] [--blocks] [--locations] [--json] [PATH]",
      "Check the health of the blocks under a path",
      "Walk PATH (default /) and check every block of every file: its good\n"
      "replicas on in-service datanodes against the file's replication.\n"
      "Prints the problem blocks with their files, totals of files, blocks\n"
      "and replicas, under-, over- and mis-replicated (all good replicas on\n"
      "one rack of several), corrupt and missing blocks (no good replica),\n"
      "and a last line saying HEALTHY or CORRUPT.  Exit status 0 when healthy,\n"
      "1 when a block is missing or an operation failed.\n"
      "\n"
      "  --files       one line per file\n"
      "  --blocks      one line per block\n"
      "  --locations   each block's replicas (implies --blocks)\n"
      "  --json        one JSON object: {\"files\":[..],\"status\":..,\n"
      "                \"total_files\":..,\"missing\":.., ...}; files lists the\n"
      "                files with a problem (every file with --files/--blocks)\n" },
    { "safemode", cmd_safemode, "safemode get|enter|leave|wait [-t SECONDS]",
      "Show or change the namenode's safe mode",
      "After a start the namenode is in safe mode (read-only: every change\n"
      "fails with \"namenode is in safe mode\") until the datanodes have\n"
      "reported enough blocks (namenode.safemode_threshold), plus\n"
      "namenode.safemode_extension_ms.  get prints the state; enter holds it\n"
      "until leave; wait returns once it is off.\n"
      "\n"
      "  -t SECONDS   wait: give up (exit 1) after this long\n" },
    { "admin", cmd_admin, "admin decommission|recommission HOST:PORT...",
      "Decommission or recommission datanodes",
      "decommission: the datanodes at HOST:PORT (their transfer address, as\n"
      "'dfs report' shows it) get no new replicas and their replicas are\n"
      "copied elsewhere; 'dfs report' then shows them decommissioned, and\n"
      "they can be stopped without any block losing a replica.  The namenode\n"
      "keeps the list across restarts.  recommission undoes it.\n" },
    { "help", cmd_help, "help [COMMAND]",
      "Show the commands, or the usage of one",
      "Without COMMAND, list every command; with it, print its usage, options\n"
      "and description.  'dfs COMMAND --help' does the same.\n" },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct sh_command *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* ---------------------------------------------------------------- help */

static void print_usage(FILE *out)
{
    size_t i;

    fputs("Usage: dfs [-n NAMENODE] [-u USER] [-v] COMMAND [ARGS...]\n"
          "       dfs help [COMMAND]\n"
          "       dfs --version\n"
          "\n"
          "Commands:\n", out);
    for (i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Global options:\n"
          "  -n NAMENODE   namenode: HOST, HOST:PORT, dfs://HOST:PORT or\n"
          "                hdfs://HOST:PORT (port 8020 when left out); else\n"
          "                $DFS_NAMENODE, else the config file $DFS_CONF, else\n"
          "                127.0.0.1:8020\n"
          "  -u USER       user name to act as (when the cluster trusts it)\n"
          "  -v            print the library's log on stderr (-vv: debug too); it\n"
          "                logs what it recovers from: pipeline and lease trouble\n"
          "\n"
          "Relative paths start at the working directory /user/NAME; patterns\n"
          "(* ? [...] {a,b}) in paths are expanded.  Exit status: 0 success,\n"
          "1 an operation failed, 2 usage or configuration error.\n"
          "Run 'dfs help COMMAND' for the options of a command.\n", out);
}

static void print_command_help(FILE *out, const struct sh_command *c)
{
    fprintf(out, "Usage: dfs %s\n\n%s.\n\n%s", c->usage, c->summary, c->help);
}

static int cmd_help(struct shell *sh, int argc, char **argv)
{
    const struct sh_command *c;

    if (argc > 2)
        return sh_usage(sh, "extra operand '%s'", argv[2]);
    if (argc < 2) {
        print_usage(stdout);
        return sh_status(sh);
    }
    c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "dfs: help: unknown command '%s'\nTry 'dfs help'.\n", argv[1]);
        return EXIT_USAGE;
    }
    print_command_help(stdout, c);
    return sh_status(sh);
}

/* Whether "--help" appears among the options of a command line. */
static int asks_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------ global options */

struct globals {
    const char *namenode;   /* -n */
    const char *user;       /* -u */
    int verbose;            /* -v count */
};

static void log_to_stderr(enum dfs_log_level level, const char *msg, void *arg)
{
    static const char *const names[] = { "error", "warning", "info", "debug" };
    const int *verbose = arg;

    if ((int)level > *verbose + 1)
        return;
    fprintf(stderr, "dfs: [%s] %s\n", (unsigned)level < 4 ? names[level] : "log", msg);
}

/* Message of a failed options call: the library's, else fallback. */
static const char *opts_msg(const char *fallback)
{
    const char *m = dfs_errmsg();

    return m && *m ? m : fallback;
}

/* Client options from the config file, $DFS_NAMENODE and the flags, in
 * increasing precedence.  Returns 0, or the exit status after a message. */
static int build_options(struct shell *sh, struct globals *g)
{
    int rc;

    sh->opts = dfs_options_create();
    if (!sh->opts) {
        fputs("dfs: out of memory\n", stderr);
        return EXIT_FAIL;
    }
    /* $DFS_CONF, then $DFS_NAMENODE (its errors start "DFS_NAMENODE: "). */
    rc = dfs_options_load_env(sh->opts);
    if (rc != DFS_OK) {
        fprintf(stderr, "dfs: %s\n", opts_msg(dfs_strerror(rc)));
        return EXIT_USAGE;
    }
    if (g->namenode && dfs_options_set_namenode(sh->opts, g->namenode) != DFS_OK) {
        fprintf(stderr, "dfs: %s\nTry 'dfs help'.\n", opts_msg("invalid namenode address"));
        return EXIT_USAGE;
    }
    if (g->user)
        dfs_options_set_user(sh->opts, g->user);
    if (g->verbose)
        dfs_options_set_log_func(sh->opts, log_to_stderr, &g->verbose);
    return EXIT_OK;
}

enum { OPT_VERSION = 256, OPT_HELP };

/* Parse the options before the command; returns -1 to go on, else the
 * exit status. */
static int parse_globals(int argc, char **argv, struct globals *g)
{
    static const struct option longopts[] = {
        { "namenode", required_argument, NULL, 'n' },
        { "user", required_argument, NULL, 'u' },
        { "verbose", no_argument, NULL, 'v' },
        { "version", no_argument, NULL, OPT_VERSION },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:n:u:v", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': g->namenode = optarg; break;
        case 'u':
            if (!*optarg) {
                fputs("dfs: empty user name\nTry 'dfs help'.\n", stderr);
                return EXIT_USAGE;
            }
            g->user = optarg;
            break;
        case 'v': g->verbose++; break;
        case OPT_VERSION:
            printf("dfs %s (libdfs %s)\n", DFS_SHELL_VERSION, dfs_version());
            return EXIT_OK;
        case OPT_HELP:
            print_usage(stdout);
            return EXIT_OK;
        case ':':
            fprintf(stderr, "dfs: option '%s' requires an argument\nTry 'dfs help'.\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        default:
            if (optopt && optopt < 256)
                fprintf(stderr, "dfs: invalid option -- '%c'\n", optopt);
            else
                fprintf(stderr, "dfs: unrecognized option '%s'\n", argv[optind - 1]);
            fputs("Try 'dfs help'.\n", stderr);
            return EXIT_USAGE;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    struct shell sh = { .cmd = "dfs" };
    struct globals g = { 0 };
    const struct sh_command *c;
    int rc;

    /* Writes to a closed pipe or socket come back as EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    rc = parse_globals(argc, argv, &g);
    if (rc >= 0)
        return rc;
    if (optind >= argc) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    argc -= optind;
    argv += optind;
    c = find_command(argv[0]);
    if (!c) {
        fprintf(stderr, "dfs: unknown command '%s'\nTry 'dfs help'.\n", argv[0]);
        return EXIT_USAGE;
    }
    sh.cmd = c->name;
    if (asks_help(argc, argv)) {
        print_command_help(stdout, c);
        return sh_status(&sh);
    }
    if (c->fn == cmd_help)
        return cmd_help(&sh, argc, argv);
    rc = build_options(&sh, &g);
    if (rc == EXIT_OK)
        rc = c->fn(&sh, argc, argv);
    if (sh.fs)
        dfs_disconnect(sh.fs);
    if (sh.opts)
        dfs_options_destroy(sh.opts);
    return rc;
}
