/*
 * hadoop_prog.c - a program as it is written for Hadoop's libhdfs (the
 * shape of the classic example in Hadoop's documentation), kept free of
 * anything dfs-specific.  The integration test compiles it against the
 * installed tree with
 *
 *     cc hadoop_prog.c $(pkg-config --cflags --libs hdfs)
 *
 * and runs it with DFS_NAMENODE naming a live cluster (what "default"
 * connects to).  It prints "read back: Hello, World!" and exits 0.
 */
#include "hdfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *writePath = "/tmp/testfile.txt";
    const char *message = "Hello, World!";
    char buffer[64];
    hdfsFS fs;
    hdfsFile writeFile, readFile;
    hdfsFileInfo *info;
    tSize written, nread;

    fs = hdfsConnect("default", 0);
    if (!fs) {
        fprintf(stderr, "Failed to connect to hdfs!\n");
        exit(-1);
    }

    writeFile = hdfsOpenFile(fs, writePath, O_WRONLY | O_CREAT, 0, 0, 0);
    if (!writeFile) {
        fprintf(stderr, "Failed to open %s for writing!\n", writePath);
        exit(-1);
    }
    written = hdfsWrite(fs, writeFile, (void *)message,
                        (tSize)(strlen(message) + 1));
    if (written != (tSize)(strlen(message) + 1)) {
        fprintf(stderr, "Failed to write %s (wrote %d)\n", writePath,
                (int)written);
        exit(-1);
    }
    if (hdfsFlush(fs, writeFile)) {
        fprintf(stderr, "Failed to 'flush' %s\n", writePath);
        exit(-1);
    }
    hdfsCloseFile(fs, writeFile);

    if (hdfsExists(fs, writePath) != 0) {
        fprintf(stderr, "%s does not exist after writing it\n", writePath);
        exit(-1);
    }
    info = hdfsGetPathInfo(fs, writePath);
    if (!info || info->mKind != kObjectKindFile ||
        info->mSize != (tOffset)(strlen(message) + 1)) {
        fprintf(stderr, "hdfsGetPathInfo(%s) is wrong\n", writePath);
        exit(-1);
    }
    hdfsFreeFileInfo(info, 1);

    readFile = hdfsOpenFile(fs, writePath, O_RDONLY, 0, 0, 0);
    if (!readFile) {
        fprintf(stderr, "Failed to open %s for reading!\n", writePath);
        exit(-1);
    }
    memset(buffer, 0, sizeof(buffer));
    nread = hdfsRead(fs, readFile, (void *)buffer, sizeof(buffer));
    if (nread != (tSize)(strlen(message) + 1) || strcmp(buffer, message)) {
        fprintf(stderr, "Failed to read back %s (%d bytes)\n", writePath,
                (int)nread);
        exit(-1);
    }
    hdfsCloseFile(fs, readFile);
    printf("read back: %s\n", buffer);

    if (hdfsDelete(fs, writePath, 0)) {
        fprintf(stderr, "Failed to delete %s\n", writePath);
        exit(-1);
    }
    hdfsDisconnect(fs);
    return 0;
}
