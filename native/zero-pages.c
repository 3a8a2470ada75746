/*
 * zero-pages: the bot's process preloads this (bin/matrix-camera-call, the Docker image) so that a large memset to
 * zero of private anonymous memory gives the pages back to the kernel instead of writing zeros into them.
 *
 * Why: libvpx's VP8 encoder, inside wrtc and rtc-node, allocates its token buffer for the worst case (macroblocks ×
 * 384 tokens of 16 bytes: 22 MB at 720p, 50 MB at 1080p) and zeroes it with memset (vpx_calloc), which makes every
 * page of it resident. An encode touches only the start of each macroblock row's part. Dropping the pages instead
 * (MADV_DONTNEED: the next touch of a private anonymous page maps a fresh zero page) reads the same zeros and leaves
 * untouched pages unallocated. Measured 2026-12-02 (two in-process wrtc peers, RSS per extra call): 1080p 96 → 49 MB,
 * 720p 37 → 22 MB; over a call's life the encoder made two such memsets (50,135,040 and 1,102,068 bytes at 1080p).
 *
 * Only memsets of 1 MiB or more to zero are looked at; every other memset goes straight to glibc's. The range must lie
 * inside one read-write private mapping with no file behind it (anonymous, [heap] or a named [anon:...] mapping, per
 * /proc/self/maps): only there does MADV_DONTNEED mean zeros. A file's private mapping would show the file again and
 * a shared one would keep its contents, so anything else, and any madvise that fails, is written with zeros as
 * before. The partial pages at either end are written; only whole pages inside the range are dropped.
 *
 * glibc only (__memset_chk is glibc's memset reached without going through this one). Children (ffmpeg, gst-launch)
 * never get it: their environment is an allowlist (src/media/child-env.ts). Test: test/unit/zero-pages.test.ts.
 *
 * It also gives back freed heap memory: a thread of its own calls malloc_trim(0) every MCC_MALLOC_TRIM_S seconds
 * (default 10; 0 turns it off). The launcher keeps video frames (1.4 MB at 720p) below glibc's mmap threshold, in
 * the heaps, so that a frame's memory is reused instead of mapped and faulted in anew 25 times a second (11 % of a
 * core per copy of a 720p25 camera at a 256 KiB threshold); glibc gives back only the top of a heap by itself, so
 * after 8 calls the idle bot kept 81 MB more than with every frame in its own mapping (bench series-720,
 * 2026-12-04). malloc_trim releases the whole free pages anywhere in the heaps; a frame freed just before costs one
 * fault-in again, once per period.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__memset_chk(void *s, int c, size_t n, size_t destlen);

/* Called through a pointer the compiler cannot see through: clang folds __memset_chk(s, c, n, n) into memset(s, c,
 * n), which here would be this function calling itself for ever (LLVM's SimplifyLibCalls; gcc 12 keeps the call). */
static void *(*volatile glibc_memset)(void *, int, size_t, size_t) = __memset_chk;

#define LARGE ((size_t)1 << 20)

static int hex_digit(char ch, uintptr_t *v) {
  if (ch >= '0' && ch <= '9') *v = *v * 16 + (uintptr_t)(ch - '0');
  else if (ch >= 'a' && ch <= 'f') *v = *v * 16 + (uintptr_t)(ch - 'a' + 10);
  else return 0;
  return 1;
}

/* One /proc/self/maps line, read a character at a time (no allocation: this runs inside memset). */
struct line {
  int field; /* 0 start, 1 end, 2 perms, 3 offset, 4 device, 5 inode, 6 path */
  int bad;
  uintptr_t start, end;
  unsigned long inode;
  char perms[4], path[6];
  int nperms, npath;
};

static void line_char(struct line *l, char ch) {
  switch (l->field) {
    case 0:
      if (ch == '-') l->field = 1;
      else if (!hex_digit(ch, &l->start)) l->bad = 1;
      break;
    case 1:
      if (ch == ' ') l->field = 2;
      else if (!hex_digit(ch, &l->end)) l->bad = 1;
      break;
    case 2:
      if (ch == ' ') l->field = 3;
      else if (l->nperms < 4) l->perms[l->nperms++] = ch;
      break;
    case 3:
    case 4:
      if (ch == ' ') l->field++;
      break;
    case 5:
      if (ch == ' ') l->field = 6;
      else if (ch >= '0' && ch <= '9') l->inode = l->inode * 10 + (unsigned long)(ch - '0');
      else l->bad = 1;
      break;
    default:
      if (ch != ' ' && l->npath < 6) l->path[l->npath++] = ch;
  }
}

static int starts(const struct line *l, const char *prefix, int n) {
  if (l->npath < n) return 0;
  for (int i = 0; i < n; i++)
    if (l->path[i] != prefix[i]) return 0;
  return 1;
}

/* Whether this line's mapping holds [lo, hi) and is read-write, private and without a file. */
static int anonymous_holder(const struct line *l, uintptr_t lo, uintptr_t hi) {
  if (l->bad || l->field < 5 || l->nperms < 4 || !(l->start <= lo && hi <= l->end)) return 0;
  int anonymous = l->npath == 0 || starts(l, "[heap]", 6) || starts(l, "[anon:", 6);
  return anonymous && l->inode == 0 && l->perms[0] == 'r' && l->perms[1] == 'w' && l->perms[3] == 'p';
}

/* 1 when [lo, hi) lies inside one private anonymous read-write mapping; 0 when not, or when the maps cannot be read.
 * Raw system calls: libc's open and read are thread cancellation points, and another preload may stand in for them. */
static int private_anonymous(uintptr_t lo, uintptr_t hi) {
  long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[4096];
  struct line l = {0};
  int found = -1;
  ssize_t got;
  while (found < 0 && (got = syscall(SYS_read, fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < got && found < 0; i++) {
      if (buf[i] != '\n') {
        line_char(&l, buf[i]);
        continue;
      }
      if (!l.bad && l.start <= lo && lo < l.end) found = anonymous_holder(&l, lo, hi);
      else if (!l.bad && l.start > lo) found = 0; /* the maps are in address order: no later line holds lo */
      l = (struct line){0};
    }
  }
  syscall(SYS_close, fd);
  return found == 1;
}

void *memset(void *s, int c, size_t n) {
  if (c == 0 && n >= LARGE) {
    /* open, read and a refused madvise set errno; a memset must leave the caller's as it was. */
    int saved_errno = errno;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)s, hi = lo + n;
    uintptr_t head = (lo + page - 1) & ~(page - 1), tail = hi & ~(page - 1);
    int dropped = hi > lo && tail > head && private_anonymous(lo, hi) &&
                  madvise((void *)head, tail - head, MADV_DONTNEED) == 0;
    errno = saved_errno;
    if (dropped) {
      glibc_memset(s, 0, head - lo, head - lo);
      glibc_memset((void *)tail, 0, hi - tail, hi - tail);
      return s;
    }
  }
  return glibc_memset(s, c, n, n);
}

static unsigned trim_every_s = 10;

static void *trimmer(void *arg) {
  (void)arg;
  for (;;) {
    sleep(trim_every_s);
    malloc_trim(0);
  }
  return NULL;
}

/* Runs as the library loads, before the program's main: starts the trimmer, detached, with every signal blocked so
 * that the program's signals (SIGINT, SIGCHLD) always reach its own threads. */
__attribute__((constructor)) static void start_trimmer(void) {
  const char *every = getenv("MCC_MALLOC_TRIM_S");
  if (every != NULL) {
    char *end;
    long s = strtol(every, &end, 10);
    if (end == every || *end != '\0' || s <= 0 || s > 86400) return;
    trim_every_s = (unsigned)s;
  }
  sigset_t all, old;
  sigfillset(&all);
  if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0) return;
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) == 0) {
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t thread;
    if (pthread_create(&thread, &attr, trimmer, NULL) == 0) pthread_setname_np(thread, "mcc-malloc-trim");
    pthread_attr_destroy(&attr);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}
