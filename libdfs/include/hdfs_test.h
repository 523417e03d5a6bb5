/*
 * hdfs_test.h - the test hooks of Hadoop's libhdfs (its hdfs_test.h), so
 * that libhdfs's own test programs build and link against dfs's library.
 *
 * In Hadoop they inspect or switch off "direct" reads (reads into a
 * caller's buffer without a copy through a Java array) and the security
 * checks of short-circuit domain sockets.  dfs reads into the caller's
 * buffer always and has no domain sockets, so the hooks report and change
 * a per-file flag only.
 */
#ifndef LIBHDFS_HDFS_TEST_H
#define LIBHDFS_HDFS_TEST_H

struct hdfsFile_internal;

#ifdef __cplusplus
extern  "C" {
#endif
    /* 1 when reads of file go straight into the caller's buffer: a reader
     * of a dfs file, unless hdfsFileDisableDirectRead was called; 0 for
     * writers and local files. */
    int hdfsFileUsesDirectRead(struct hdfsFile_internal *file);

    /* Clear the flag hdfsFileUsesDirectRead reports (reads still work). */
    void hdfsFileDisableDirectRead(struct hdfsFile_internal *file);

    /* The same pair for positional reads. */
    int hdfsFileUsesDirectPread(struct hdfsFile_internal *file);

    void hdfsFileDisableDirectPread(struct hdfsFile_internal *file);

    /* Nothing to disable in dfs: returns 0. */
    int hdfsDisableDomainSocketSecurity(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBHDFS_HDFS_TEST_H */
