/*
 * Runs memsets through whatever memset the process has (the test starts it with and without native/zero-pages.so
 * preloaded) and prints one line per case: "<case> ok" when the bytes are what memset must leave, or
 * "<case> WRONG at <offset>". The "dropped" line gives the RSS that a 64 MiB memset to zero of written memory gave
 * back (MB): the only case where the preloaded memset shows, so the test can tell that it was in effect.
 * Built with -fno-builtin so each memset here is a call to the process's memset.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

/* Bytes [0, from) and [to, n) must be `outside`, [from, to) must be `inside`. */
static void check(const char *name, const unsigned char *p, size_t n, size_t from, size_t to, int outside, int inside) {
  for (size_t i = 0; i < n; i++) {
    int want = (i >= from && i < to) ? inside : outside;
    if (p[i] != want) {
      printf("%s WRONG at %zu: %d, not %d\n", name, i, p[i], want);
      return;
    }
  }
  printf("%s ok\n", name);
}

/* Where the line of the mapping that holds p starts in /proc/self/maps (bytes), or -1. */
static long maps_offset(const void *p) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  long at = 0, found = -1;
  unsigned long lo, hi;
  while (f && found < 0 && fgets(line, sizeof line, f)) {
    if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo <= (unsigned long)p && (unsigned long)p < hi) found = at;
    at += (long)strlen(line);
  }
  if (f) fclose(f);
  return found;
}

/* An unlinked file of n bytes of `byte`, open for reading and writing; -1 when it cannot be made. */
static int file_of(int byte, size_t n) {
  char path[] = "/tmp/zero-pages-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  unlink(path);
  unsigned char *fill = malloc(n);
  memset(fill, byte, n);
  ssize_t wrote = write(fd, fill, n);
  free(fill);
  if (wrote != (ssize_t)n) {
    close(fd);
    return -1;
  }
  return fd;
}

int main(void) {
  const size_t big = (size_t)64 << 20, mid = (size_t)4 << 20, page = (size_t)sysconf(_SC_PAGESIZE);

  /* A malloc block of its own mapping, written, then zeroed but for an unaligned head and tail. The 300 one-page
   * mappings made after it (read-only and writable in turn, so none merge) come before it in the maps, so its line
   * is found only after the shim has read the maps in several pieces, lines cut between them. */
  unsigned char *a = malloc(big);
  for (int i = 0; i < 300; i++)
    if (mmap(NULL, page, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
      return 2;
  printf("maps-offset %ld\n", maps_offset(a));
  memset(a, 0xab, big);
  long before = rss_kb();
  memset(a + 13, 0, big - 29);
  long after = rss_kb();
  check("mapped", a, big, 13, big - 16, 0xab, 0);
  printf("dropped %ld\n", (before - after) / 1024);
  /* Pages given back read as zeros and can be written again. */
  memset(a + 4096 * 3, 0x5c, 10);
  check("rewritten", a + 4096 * 3, 20, 0, 10, 0, 0x5c);
  free(a);

  /* The main heap ([heap]): a block below the mmap threshold. */
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  unsigned char *h = malloc(4 * mid + 100);
  memset(h, 0x7e, 4 * mid + 100);
  before = rss_kb();
  memset(h + 1, 0, 4 * mid);
  after = rss_kb();
  check("heap", h, 4 * mid + 100, 1, 4 * mid + 1, 0x7e, 0);
  printf("heap-dropped %ld\n", (before - after) / 1024);
  free(h);

  /* Anonymous memory and, right after it, a file's private mapping: a range over both is written, not dropped (the
   * file's half would show its bytes, 0x6b, again). */
  int cross_fd = file_of(0x6b, mid);
  if (cross_fd < 0) return 2;
  unsigned char *x = mmap(NULL, 2 * mid, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (x == MAP_FAILED || mmap(x + mid, mid, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, cross_fd, 0) == MAP_FAILED)
    return 2;
  memset(x, 0x12, 2 * mid);
  memset(x, 0, 2 * mid);
  check("two-mappings", x, 2 * mid, 0, 2 * mid, 0, 0);
  munmap(x, 2 * mid);
  close(cross_fd);

  /* A file's private mapping: dropped pages would show the file's bytes (0x5a) again. */
  int fd = file_of(0x5a, mid);
  if (fd < 0) return 2;
  unsigned char *f = mmap(NULL, mid, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (f == MAP_FAILED) return 2;
  memset(f, 0x11, mid);
  memset(f, 0, mid);
  check("file-private", f, mid, 0, mid, 0, 0);
  munmap(f, mid);
  close(fd);

  /* Shared anonymous memory: its pages stay in the shared object, so dropping them would keep 0x22. */
  unsigned char *s = mmap(NULL, mid, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED) return 2;
  memset(s, 0x22, mid);
  memset(s, 0, mid);
  check("shared", s, mid, 0, mid, 0, 0);
  munmap(s, mid);

  /* Locked memory: MADV_DONTNEED refuses it, and memset writes the zeros. 2 MiB: within the usual 8 MiB lock limit. */
  const size_t lk = (size_t)2 << 20;
  unsigned char *l = mmap(NULL, lk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (l == MAP_FAILED) return 2;
  memset(l, 0x33, lk);
  int locked = mlock(l, lk) == 0;
  errno = 4242;
  memset(l, 0, lk);
  int errno_after = errno;
  if (locked) check("locked", l, lk, 0, lk, 0, 0);
  else printf("locked skipped: mlock refused 2 MiB (RLIMIT_MEMLOCK)\n");
  /* A refused madvise (and the open and read of the maps) must not show in the caller's errno. */
  if (errno_after == 4242) printf("errno ok\n");
  else printf("errno WRONG: %d\n", errno_after);
  munmap(l, lk);

  /* Not zero, and small: written as always. */
  unsigned char *b = malloc(big);
  memset(b, 0, big);
  memset(b + 5, 0x44, big - 10);
  check("nonzero", b, big, 5, big - 5, 0, 0x44);
  memset(b + 7, 0, 1000);
  check("small", b + 5, 2000, 2, 1002, 0x44, 0);
  free(b);
  return 0;
}
