/*
 * The floor the lab's fill is measured against: the same system calls the
 * lab child makes to create fillers (one-page read-only anonymous mappings,
 * two pages apart, placed with MAP_FIXED_NOREPLACE in a range found free
 * first), from a minimal C program. Prints the nanoseconds of the loop.
 *
 *   cc -O2 -o bench-fill bench-fill.c && ./bench-fill 65000
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 65000;
  long page = sysconf(_SC_PAGESIZE);
  size_t span = (size_t)(n + 16) * 2 * (size_t)page;
  char *base = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return 2;
  munmap(base, span);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long made = 0;
  for (long i = 0; i < n; i++) {
    char *a = base + (size_t)i * 2 * (size_t)page;
    void *r = mmap(a, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (r != a) break;
    made++;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  printf("%lld %ld\n", ns, made);
  return made == n ? 0 : 1;
}
