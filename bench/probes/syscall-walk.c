/*
 * The floor under fim's walk (docs/performance.md, "Where a one-thread check's time goes"): the
 * system calls fim makes per entry, from C, with nothing else. getdents64 of each directory
 * through its descriptor; per entry statx of its name; per directory openat, statx, the inode
 * flags; per regular file openat, statx before and after, the read (with READ=1), the inode flags,
 * flistxattr, close.
 *
 *   gcc -O2 bench/probes/syscall-walk.c -o /tmp/syscall-walk
 *   /usr/bin/time -f '%e s' /tmp/syscall-walk TREE 0   # without reading the files
 *   /usr/bin/time -f '%e s' /tmp/syscall-walk TREE 1   # reading every byte in 1 MiB reads
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

static char rbuf[1 << 20];
static long files, bytes;
static int reading;

struct d64 {
  unsigned long ino;
  long off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

static void walk(int dfd) {
  char buf[32768];
  long n;
  while ((n = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
    for (long p = 0; p < n;) {
      struct d64 *e = (void *)(buf + p);
      p += e->reclen;
      if (!strcmp(e->name, ".") || !strcmp(e->name, "..")) continue;
      struct statx sx, s2;
      int fl;
      if (statx(dfd, e->name, AT_SYMLINK_NOFOLLOW, 0x7ff, &sx) != 0) continue;
      if (S_ISDIR(sx.stx_mode)) {
        int c = openat(dfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (c < 0) continue;
        statx(c, "", AT_EMPTY_PATH, 0x7ff, &s2);
        ioctl(c, FS_IOC_GETFLAGS, &fl);
        walk(c);
        close(c);
      } else if (S_ISREG(sx.stx_mode)) {
        files++;
        int f = openat(dfd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOATIME);
        if (f < 0) continue;
        statx(f, "", AT_EMPTY_PATH, 0x7ff, &s2);
        if (reading) {
          long r;
          while ((r = read(f, rbuf, sizeof rbuf)) > 0) {
            bytes += r;
            if (r < (long)sizeof rbuf) break;
          }
        }
        statx(f, "", AT_EMPTY_PATH, 0x7ff, &s2);
        ioctl(f, FS_IOC_GETFLAGS, &fl);
        char xl[256];
        flistxattr(f, xl, sizeof xl);
        close(f);
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: syscall-walk TREE 0|1\n");
    return 2;
  }
  reading = atoi(argv[2]);
  int d = open(argv[1], O_RDONLY | O_DIRECTORY);
  if (d < 0) {
    perror(argv[1]);
    return 1;
  }
  walk(d);
  printf("%ld files %ld bytes\n", files, bytes);
  return 0;
}
