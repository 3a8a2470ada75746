/*
 * For test/unit/zero-pages.test.ts: frees 192 MiB of heap memory that glibc keeps (1 MiB blocks below the mmap
 * threshold the test sets, the top pinned by one block still in use), then prints its RSS in MB each 100 ms for up
 * to 3 s: with the preload's trimmer (MCC_MALLOC_TRIM_S=1) it falls within a few seconds, without it it stays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCKS 192
#define BLOCK (1 << 20)

static long rss_mb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (f == NULL) return -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * 4096 / (1 << 20);
}

int main(void) {
  char *blocks[BLOCKS + 1];
  for (int i = 0; i <= BLOCKS; i++) {
    blocks[i] = malloc(BLOCK);
    if (blocks[i] == NULL) return 2;
    memset(blocks[i], 1, BLOCK);
  }
  for (int i = 0; i < BLOCKS; i++) free(blocks[i]);
  printf("freed %ld\n", rss_mb());
  fflush(stdout);
  for (int t = 0; t < 30; t++) {
    struct timespec tick = {0, 100 * 1000 * 1000};
    nanosleep(&tick, NULL);
    printf("rss %ld\n", rss_mb());
    fflush(stdout);
  }
  /* The pinning block is used to the end, so the heap's top never falls below it. */
  return blocks[BLOCKS][0] == 1 ? 0 : 3;
}
