/*
 * ---- The reproducer's runtime: the same for every case. ----
 *
 * It lays out the region described above in a window of its own address
 * space, stamps every page, brings its own map count to the case's distance
 * from vm.max_map_count with one-page "filler" mappings, makes the call, and
 * reads the region back from /proc/self/maps and page by page.
 *
 * The stamp code (native/sys/stamp.h, the same the lab child uses) comes just
 * before this runtime in every reproducer.
 *
 * Nothing allocates between counting the maps and making the call: stdout is
 * unbuffered and all buffers are static, so the map count is exact.
 * System calls go through the C library (or syscall(2) with its SYS_ numbers),
 * so the file builds for any Linux architecture; sizes follow the page size.
 * The reproducer's first lines define _FILE_OFFSET_BITS 64, before any header:
 * /proc/self/mem offsets are addresses, above 2^31 too.
 *
 * Exit status: 0 the invariant held, 1 it broke, 4 could not run here (2 when
 * the layout itself failed). With --bisect, as `git bisect run` wants them:
 * 0 kept, 1 broken, 125 could not run.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif

static int bisect_mode;

/* The exit status for a result: under --bisect, anything but kept or broken is a skip. */
static int status(int code) { return bisect_mode && code != 0 && code != 1 ? 125 : code; }

#define MAX_VMAS 64
#define MAX_PAGES 4096

struct vma {
  uintptr_t start, end;
  char perms[5];
};

static char maps_buf[64 << 20];
/* One page: 256 KiB is the largest base page Linux has (arm64's is at most 64 KiB). */
static unsigned char page_buf[256 << 10] __attribute__((aligned(8)));
static long page_size;
static uintptr_t window;
static long new_pages;
static long window_pages;

/* Page states, as the probe names them (the page classes of the stamp code above). */
enum {
  P_UNMAPPED = MP_PAGE_UNMAPPED,
  P_ZERO = MP_PAGE_ZERO,
  P_STAMP = MP_PAGE_STAMP,
  P_OTHER = MP_PAGE_OTHER,
  P_UNREADABLE = MP_PAGE_UNREADABLE
};
struct page_state {
  int kind;
  int object;
  long page;
};

static const uint64_t NONCE = 0x5eed5eed12345678ULL;

static int mem_fd = -1;

static void stamp(uintptr_t addr, long pages, int object) {
  uint64_t *w = (uint64_t *)page_buf;
  for (long p = 0; p < pages; p++) {
    mp_stamp_page(w, (size_t)page_size / 8, (uint64_t)object, (uint64_t)p, NONCE);
    if (pwrite(mem_fd, page_buf, (size_t)page_size, (off_t)(addr + (uintptr_t)(p * page_size))) !=
        page_size) {
      struct iovec l = {page_buf, (size_t)page_size},
                   r = {(void *)(addr + (uintptr_t)(p * page_size)), (size_t)page_size};
      if (process_vm_writev(getpid(), &l, 1, &r, 1, 0) != page_size) {
        perror("stamping a page");
        exit(status(2));
      }
    }
  }
}

static struct page_state read_page(uintptr_t addr) {
  struct page_state s = {P_UNMAPPED, 0, 0};
  unsigned char vec;
  if (mincore((void *)addr, (size_t)page_size, &vec) != 0 && errno == ENOMEM) return s;
  ssize_t n = pread(mem_fd, page_buf, (size_t)page_size, (off_t)addr);
  if (n != page_size) {
    struct iovec l = {page_buf, (size_t)page_size}, r = {(void *)addr, (size_t)page_size};
    if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) != page_size) {
      s.kind = P_UNREADABLE;
      return s;
    }
  }
  uint64_t word = mp_classify_page((const uint64_t *)page_buf, (size_t)page_size / 8, NONCE);
  s.kind = (int)(word >> MP_PAGE_CLASS_SHIFT);
  if (s.kind == P_STAMP) {
    s.object = (int)((word >> 32) & 0xffff);
    s.page = (long)(word & 0xffffffffULL);
  }
  return s;
}

/* Reads /proc/self/maps whole into maps_buf with read(); returns its length. */
static long read_maps(void) {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    perror("/proc/self/maps");
    exit(status(4));
  }
  long used = 0;
  for (;;) {
    ssize_t n = read(fd, maps_buf + used, sizeof(maps_buf) - 1 - (size_t)used);
    if (n <= 0) break;
    used += n;
  }
  close(fd);
  maps_buf[used] = 0;
  return used;
}

/*
 * The gate VMA: /proc lists it after every real VMA, but mm->map_count does
 * not count it. x86-64 has [vsyscall] (absent with vsyscall=none); arm64 has
 * none; 32-bit arm's is its vector page, [vectors], except in a 32-bit
 * process on an arm64 kernel (uname says armv8l or armv8b), where [vectors]
 * is an ordinary mapping and counts.
 */
static const char *gate_vma_name(void) {
#if defined(__x86_64__)
  return "[vsyscall]";
#elif defined(__arm__)
  struct utsname u;
  if (uname(&u) == 0 && strncmp(u.machine, "armv8", 5) == 0) return NULL;
  return "[vectors]";
#else
  return NULL;
#endif
}

/* map_count as the kernel keeps it: every line but the gate VMA (listed last). */
static long map_count(void) {
  long len = read_maps(), lines = 0;
  for (long i = 0; i < len; i++) lines += maps_buf[i] == '\n';
  const char *gate = gate_vma_name();
  long gl = gate ? (long)strlen(gate) : 0;
  if (gl && len > gl && maps_buf[len - 1] == '\n' &&
      memcmp(maps_buf + len - 1 - gl, gate, (size_t)gl) == 0)
    lines--;
  return lines;
}

/* The VMAs that meet [lo, hi). */
static int vmas_in(uintptr_t lo, uintptr_t hi, struct vma *out) {
  long len = read_maps();
  int n = 0;
  char *p = maps_buf, *end = maps_buf + len;
  while (p < end && n < MAX_VMAS) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) break;
    unsigned long a, b;
    char perms[5] = {0};
    if (sscanf(p, "%lx-%lx %4s", &a, &b, perms) == 3 && b > lo && a < hi) {
      out[n].start = a;
      out[n].end = b;
      memcpy(out[n].perms, perms, 5);
      n++;
    }
    p = nl + 1;
  }
  return n;
}

/* Reads a small /proc file into a static buffer; returns it, or NULL. */
static const char *read_small(const char *path) {
  static char buf[1 << 16];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return NULL;
  buf[n] = 0;
  return buf;
}

/* The number after "Key:" in a file like /proc/meminfo, or -1. */
static long kb_field(const char *path, const char *key) {
  const char *t = read_small(path);
  const char *p = t ? strstr(t, key) : NULL;
  return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* A sysctl's value, or -1. */
static long read_long(const char *path) {
  const char *t = read_small(path);
  return t ? strtol(t, NULL, 10) : -1;
}

static void skip(const char *why) {
  printf("SKIP: %s\n", why);
  printf("RESULT id=%s verdict=skip\n", CASE_ID);
  exit(status(4));
}

/* capset(2) without libcap: clear one capability from the effective and permitted sets. */
struct cap_header {
  uint32_t version;
  int pid;
};
struct cap_data {
  uint32_t effective, permitted, inheritable;
};
static void drop_cap(int cap) {
  struct cap_header h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct cap_data d[2];
  if (syscall(SYS_capget, &h, d) != 0) return;
  d[cap / 32].effective &= ~(1u << (cap % 32));
  d[cap / 32].permitted &= ~(1u << (cap % 32));
  d[cap / 32].inheritable &= ~(1u << (cap % 32));
  if (syscall(SYS_capset, &h, d) != 0) perror("capset");
}

static uintptr_t at(long page) { return window + (uintptr_t)(page * page_size); }

static uintptr_t filler_base;
static long fillers, filler_slots;

static void set_fillers(long want) {
  while (fillers > want) {
    fillers--;
    munmap((void *)(filler_base + (uintptr_t)(fillers * 2 * page_size)), (size_t)page_size);
  }
  while (fillers < want && fillers < filler_slots) {
    uintptr_t a = filler_base + (uintptr_t)(fillers * 2 * page_size);
    void *r = mmap((void *)a, (size_t)page_size, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (r == MAP_FAILED) break;
    if ((uintptr_t)r != a) {
      munmap(r, (size_t)page_size);
      break;
    }
    fillers++;
  }
}

static const char *page_word(struct page_state s, char *buf, size_t n) {
  switch (s.kind) {
    case P_UNMAPPED:
      return "unmapped";
    case P_ZERO:
      return "zero";
    case P_OTHER:
      return "other";
    case P_UNREADABLE:
      return "unreadable";
    default:
      snprintf(buf, n, "stamp %d:%ld", s.object, s.page);
      return buf;
  }
}

static const char *errname(int e) {
  switch (e) {
    case EPERM:
      return "EPERM";
    case ENOMEM:
      return "ENOMEM";
    case EFAULT:
      return "EFAULT";
    case EINVAL:
      return "EINVAL";
    case EAGAIN:
      return "EAGAIN";
    case EACCES:
      return "EACCES";
    case ENOSYS:
      return "ENOSYS";
    default:
      return "E?";
  }
}

/* Evidence: the pages read back, both before and after the call. */
static long ev_start[8], ev_count[8];
static int nev;
static struct page_state before_pages[MAX_PAGES], after_pages[MAX_PAGES];

static void add_span(long first_page_abs_rel, long count, int absolute) {
  if (nev >= 8) return;
  ev_start[nev] =
      absolute ? first_page_abs_rel : (long)(window / (uintptr_t)page_size) + first_page_abs_rel;
  ev_count[nev] = count > 64 && window_pages > 512 ? 64 : count;
  nev++;
}

static void read_evidence(struct page_state *out) {
  long k = 0;
  for (int s = 0; s < nev; s++)
    for (long i = 0; i < ev_count[s] && k < MAX_PAGES; i++)
      out[k++] = read_page((uintptr_t)(ev_start[s] + i) * (uintptr_t)page_size);
}

/* The page was read in an earlier span already (spans of a huge window may overlap). */
static int seen_before(int span, long page) {
  for (int t = 0; t < span; t++)
    if (page >= ev_start[t] && page < ev_start[t] + ev_count[t]) return 1;
  return 0;
}

/* The state read back for an absolute page number, or NULL when it was not read. */
static const struct page_state *state_at(const struct page_state *states, int spans, long page) {
  long k = 0;
  for (int s = 0; s < spans; s++) {
    if (page >= ev_start[s] && page < ev_start[s] + ev_count[s])
      return &states[k + page - ev_start[s]];
    k += ev_count[s];
  }
  return NULL;
}

static int same_page(struct page_state a, struct page_state b) {
  return a.kind == b.kind && (a.kind != P_STAMP || (a.object == b.object && a.page == b.page));
}

/*
 * The contract of a successful call: a page-aligned address where the new
 * mapping holds what the old range held (where it held a page), and nothing
 * outside the old range and the destination changed. Says the first breach.
 */
static int contract_broken(long ret, uintptr_t dest, int spans_before) {
  char w1[32], w2[32];
  if ((uintptr_t)ret % (uintptr_t)page_size != 0) {
    printf("BROKEN: it returned %#lx, which is not a page-aligned address.\n", (unsigned long)ret);
    return 1;
  }
  long old0 = (long)(at(SPEC.old) / (uintptr_t)page_size);
  long dst0 = (long)(dest / (uintptr_t)page_size);
  long keep = SPEC.old_pages < new_pages ? SPEC.old_pages : new_pages;
  for (long i = 0; i < keep; i++) {
    const struct page_state *b = state_at(before_pages, spans_before, old0 + i);
    const struct page_state *a = state_at(after_pages, nev, dst0 + i);
    if (!b || !a || b->kind == P_UNMAPPED || same_page(*a, *b)) continue;
    printf("BROKEN: page %ld of the new range holds %s where the old range held %s.\n", i,
           page_word(*a, w1, sizeof w1), page_word(*b, w2, sizeof w2));
    return 1;
  }
  long k = 0;
  for (int s = 0; s < spans_before; s++) {
    for (long i = 0; i < ev_count[s]; i++, k++) {
      long p = ev_start[s] + i;
      if ((p >= old0 && p < old0 + SPEC.old_pages) || (p >= dst0 && p < dst0 + new_pages)) continue;
      if (same_page(before_pages[k], after_pages[k])) continue;
      printf("BROKEN: page %#lx, outside the old range and the destination, went from %s to %s.\n",
             (unsigned long)((uintptr_t)p * (uintptr_t)page_size),
             page_word(before_pages[k], w1, sizeof w1), page_word(after_pages[k], w2, sizeof w2));
      return 1;
    }
  }
  return 0;
}

static void print_vmas(const char *title, struct vma *v, int n) {
  printf("%s:\n", title);
  if (!n) printf("  (none)\n");
  for (int i = 0; i < n; i++) {
    long a = ((long)v[i].start - (long)window) / page_size,
         b = ((long)v[i].end - (long)window) / page_size;
    printf("  %#lx-%#lx %s  (window pages %ld..%ld)\n", (unsigned long)v[i].start,
           (unsigned long)v[i].end, v[i].perms, a, b);
  }
}

static int accounting_case(void);
static int run_case(void);

int main(int argc, char **argv) {
  bisect_mode = argc > 1 && strcmp(argv[1], "--bisect") == 0;
  return status(run_case());
}

static int run_case(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  page_size = sysconf(_SC_PAGESIZE);
  if (page_size > (long)sizeof(page_buf))
    skip("the page size is larger than this reproducer handles");
  printf("mremap-probe reproducer for %s\n%s\n\n", CASE_ID, CASE_SUMMARY);

  struct utsname u;
  uname(&u);
  int maj = 0, min = 0;
  sscanf(u.release, "%d.%d", &maj, &min);
  printf("kernel %s\n", u.release);
  if (SPEC.min_major && (maj < SPEC.min_major || (maj == SPEC.min_major && min < SPEC.min_minor))) {
    static char why[128];
    snprintf(why, sizeof why, "needs Linux %d.%d or later", SPEC.min_major, SPEC.min_minor);
    skip(why);
  }
  long M = read_long("/proc/sys/vm/max_map_count");
  if (M <= 0) skip("cannot read /proc/sys/vm/max_map_count");
  long overcommit = read_long("/proc/sys/vm/overcommit_memory");
  if (SPEC.skip_overcommit_1 && overcommit == 1)
    skip("vm.overcommit_memory is 1: the overcommit charge never fails");
  if (SPEC.needs_mmap_min_addr && read_long("/proc/sys/vm/mmap_min_addr") <= 0)
    skip("vm.mmap_min_addr is 0");
  if (SPEC.pressure_set && M > 1048576) skip("vm.max_map_count is too large to reach here");

  /* Sizes that depend on the machine: a grow larger than RAM + swap. */
  new_pages = SPEC.new_pages;
  window_pages = SPEC.window_pages;
  if (SPEC.beyond_commit) {
    long ram_kb = kb_field("/proc/meminfo", "MemTotal:"),
         swap_kb = kb_field("/proc/meminfo", "SwapTotal:");
    long total = (ram_kb + (swap_kb > 0 ? swap_kb : 0)) / (page_size / 1024);
    long gib = (1L << 30) / page_size; /* pages in a GiB */
    new_pages = (total * 5 / 4 + gib - 1) / gib * gib + gib;
    window_pages = SPEC.new_addr + new_pages + 8;
  }

  /* Raise soft limits a CI runner may have set. */
  struct rlimit rl;
  getrlimit(RLIMIT_AS, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_AS, &rl);
  mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

  /* One free range for the fillers, a gap, and the window. */
  filler_slots = SPEC.pressure_set ? M + 16 : 0;
  size_t filler_bytes = (size_t)filler_slots * 2 * (size_t)page_size;
  size_t guard = 64u << 20;
  size_t total = filler_bytes + guard + (size_t)window_pages * (size_t)page_size;
  void *r = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) skip("no free address range for the experiment (RLIMIT_AS?)");
  munmap(r, total);
  filler_base = (uintptr_t)r;
  window = (uintptr_t)r + filler_bytes + guard;

  if (SPEC.invariant == INV_ACCOUNTING) return accounting_case();
  long locked_before_kb = kb_field("/proc/self/status", "VmLck:");

  /* The layout: each piece mapped read-write, stamped, locked, then given its protection. */
  int memfds[NPIECES > 0 ? NPIECES : 1];
  for (int i = 0; i < NPIECES; i++) {
    const struct piece *p = &PIECES[i];
    int fd = -1, flags = MAP_FIXED_NOREPLACE;
    if (p->backing == BACK_MEMFD) {
      fd = (int)syscall(SYS_memfd_create, "mremap-probe", 1u);
      if (fd < 0 || ftruncate(fd, (off_t)(p->object_pages * page_size)) != 0) {
        perror("memfd");
        return 2;
      }
      flags |= MAP_SHARED;
    } else
      flags |= (p->backing == BACK_SHMEM ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
    memfds[i] = fd;
    void *a = mmap((void *)at(p->page), (size_t)(p->pages * page_size), PROT_READ | PROT_WRITE,
                   flags, fd, 0);
    if (a != (void *)at(p->page)) {
      perror("laying out the region");
      return 2;
    }
    stamp(at(p->page), p->pages, i + 1);
    /* Locked while still readable: mlock() of a PROT_NONE range fails to populate it. */
    if (p->mlock && mlock(a, (size_t)(p->pages * page_size)) != 0) {
      perror("mlock");
      return 2;
    }
    if (p->prot != (PROT_READ | PROT_WRITE) &&
        mprotect(a, (size_t)(p->pages * page_size), p->prot) != 0) {
      perror("mprotect");
      return 2;
    }
  }

  /* What to read back: the window (or, when huge, its pieces and the ends of the ranges). */
  if (window_pages <= 512)
    add_span(0, window_pages, 0);
  else {
    for (int i = 0; i < NPIECES; i++) add_span(PIECES[i].page, PIECES[i].pages, 0);
    add_span(SPEC.old, SPEC.old_pages + 2, 0);
    if (SPEC.has_new_addr && !SPEC.new_addr_zero) {
      add_span(SPEC.new_addr, 16, 0);
      add_span(SPEC.new_addr + new_pages - 16, 16, 0);
    }
  }
  if (SPEC.new_addr_zero) add_span(0, new_pages, 1);

  static struct vma vb[MAX_VMAS], va[MAX_VMAS];
  int nb = vmas_in(window, at(window_pages), vb);
  read_evidence(before_pages);

  /* The map count: fillers up or down until it is exactly M + offset. */
  long before = map_count();
  if (SPEC.pressure_set) {
    long target = M + SPEC.pressure;
    set_fillers(fillers + (target - before));
    before = map_count();
    if (before != target) {
      printf("could not bring the map count to %ld (M%+ld): reached %ld\n", target, SPEC.pressure,
             before);
      if (target > M + 1) printf("do_mmap refuses a new VMA once map_count > vm.max_map_count\n");
      return 2;
    }
  }

  /* Limits and capabilities the case calls for. */
  struct rlimit as0, ml0;
  getrlimit(RLIMIT_AS, &as0);
  getrlimit(RLIMIT_MEMLOCK, &ml0);
  if (SPEC.as_headroom >= 0) {
    long vm_kb = kb_field("/proc/self/status", "VmSize:");
    struct rlimit t = as0;
    t.rlim_cur = (rlim_t)(vm_kb * 1024 + SPEC.as_headroom * page_size);
    setrlimit(RLIMIT_AS, &t);
  }
  if (SPEC.memlock_headroom >= 0) {
    long lck_kb = kb_field("/proc/self/status", "VmLck:");
    struct rlimit t = ml0;
    t.rlim_cur = (rlim_t)(lck_kb * 1024 + SPEC.memlock_headroom * page_size);
    setrlimit(RLIMIT_MEMLOCK, &t);
  }
  if (SPEC.drop_ipc_lock) drop_cap(CAP_IPC_LOCK);
  if (SPEC.drop_sys_rawio) drop_cap(CAP_SYS_RAWIO);

  /* The call. */
  uintptr_t new_addr = SPEC.has_new_addr ? (SPEC.new_addr_zero ? 0 : at(SPEC.new_addr)) : 0;
  uintptr_t old_addr = at(SPEC.old) + (uintptr_t)SPEC.old_misalign;
  size_t old_len = (size_t)(SPEC.old_pages * page_size - SPEC.old_short);
  size_t new_len = (size_t)(new_pages * page_size - SPEC.new_short);
  if (SPEC.has_new_addr) new_addr += (uintptr_t)SPEC.new_misalign;
  errno = 0;
  long ret = syscall(SYS_mremap, old_addr, old_len, new_len, SPEC.flags, new_addr);
  int err = ret == -1 ? errno : 0;

  int na = vmas_in(window, at(window_pages), va);
  if (SPEC.new_addr_zero) na += vmas_in(0, (uintptr_t)(new_pages * page_size), va + na);
  /* A range the kernel picked, outside the window: its VMAs count, and it is read back. */
  int spans_before = nev;
  uintptr_t moved_to = 0;
  if (!err && ((uintptr_t)ret < window || (uintptr_t)ret >= at(window_pages)) &&
      !(SPEC.new_addr_zero && (uintptr_t)ret < (uintptr_t)(new_pages * page_size))) {
    moved_to = (uintptr_t)ret;
    if (moved_to % (uintptr_t)page_size == 0) {
      na += vmas_in(moved_to, moved_to + (uintptr_t)(new_pages * page_size), va + na);
      add_span((long)(moved_to / (uintptr_t)page_size), new_pages, 1);
    }
  }
  read_evidence(after_pages);
  long after = before + (na - nb);
  setrlimit(RLIMIT_AS, &as0);
  setrlimit(RLIMIT_MEMLOCK, &ml0);

  printf("map count at the call: %ld (vm.max_map_count %ld, M%+ld)\n\n", before, M, before - M);
  printf("mremap(%#lx, %zu bytes, %zu bytes, 0x%x, %#lx) = ", (unsigned long)old_addr, old_len,
         new_len, SPEC.flags, (unsigned long)new_addr);
  if (err)
    printf("-1, errno %s (%s)\n\n", errname(err), strerror(err));
  else
    printf("%#lx\n\n", (unsigned long)ret);
  print_vmas("VMAs before", vb, nb);
  print_vmas("VMAs after", va, na);

  /* What an error return destroyed: pages mapped and stamped before, now gone or changed. */
  long lost = 0, k = 0;
  char w1[32], w2[32];
  for (int s = 0; s < nev; s++) {
    for (long i = 0; i < ev_count[s]; i++, k++) {
      struct page_state b = before_pages[k], a = after_pages[k];
      if (b.kind != P_STAMP || seen_before(s, ev_start[s] + i)) continue;
      if (a.kind == P_STAMP && a.object == b.object && a.page == b.page) continue;
      if (err) {
        lost++;
        printf("  LOST page %#lx: was %s, now %s\n",
               (unsigned long)((uintptr_t)(ev_start[s] + i) * (uintptr_t)page_size),
               page_word(b, w1, sizeof w1), page_word(a, w2, sizeof w2));
      }
    }
  }
  printf("\nmap count after: %ld (%+ld)\n", after, after - before);

  int broken;
  if (SPEC.invariant == INV_LOCKED_VM) {
    /* Everything the case mapped goes; what stays locked was leaked. */
    munmap((void *)window, (size_t)(window_pages * page_size));
    if (moved_to) munmap((void *)moved_to, (size_t)(new_pages * page_size));
    long locked_after_kb = kb_field("/proc/self/status", "VmLck:");
    broken = locked_after_kb != locked_before_kb;
    printf("\nThe invariant: once everything is unmapped, locked_vm is what it was before.\n");
    printf("VmLck: %ld kB before the layout, %ld kB after.\n", locked_before_kb, locked_after_kb);
    printf(broken ? "BROKEN: %ld kB stay counted as locked.\n" : "kept.\n",
           locked_after_kb - locked_before_kb);
  } else if (SPEC.invariant == INV_IN_PLACE) {
    broken = err != 0;
    printf("\nThe invariant: a call that needs no new VMA must not fail for map-count reasons.\n");
    printf(broken ? "BROKEN: it failed with %s at map count %ld.\n"
                  : "kept: it succeeded (%s) at map count %ld.\n",
           err ? errname(err) : "ok", before);
  } else {
    broken = err != 0 && lost > 0;
    printf(
        "\nThe invariant: a call that returns an error must leave every mapping and page as it "
        "was; one that succeeds returns a page-aligned address where the new mapping holds the "
        "old contents, and changes nothing outside the old range and the destination.\n");
    if (!err) {
      broken = contract_broken(ret, moved_to ? moved_to : (uintptr_t)ret, spans_before);
      if (!broken) printf("kept: the call succeeded and kept the contract.\n");
    } else if (broken)
      printf("BROKEN: it returned %s after destroying %ld page(s).\n", errname(err), lost);
    else
      printf("kept: it returned %s with nothing destroyed.\n", errname(err));
  }
  printf(
      "RESULT id=%s ret=%s mapcount_before=%ld mapcount_after=%ld destroyed_pages=%ld verdict=%s\n",
      CASE_ID, err ? errname(err) : "ok", before, after, lost, broken ? "broken" : "kept");
  for (int i = 0; i < NPIECES; i++)
    if (memfds[i] >= 0) close(memfds[i]);
  return broken ? 1 : 0;
}

/* Accounting: Committed_AS over repeated cycles (map the layout, call, unmap the window). */
static int accounting_case(void) {
  long n = SPEC.repeat;
  size_t wlen = (size_t)(window_pages * page_size);
  int flags_map = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
  uintptr_t new_addr = SPEC.has_new_addr ? at(SPEC.new_addr) : 0;
  /* Each cycle is read on its own, right after a control cycle without the
   * mremap: the drift is the median over the cycles, so that another process
   * moving Committed_AS in a burst sways a few cycles, never the result. */
  enum { ROUNDS = 200 };
  long ctl_total = 0, test_total = 0;
  static double drifts[ROUNDS];
  if (n > ROUNDS) n = ROUNDS;
  long c0 = kb_field("/proc/meminfo", "Committed_AS:");
  for (int k = 0; k < n; k++) {
    for (int i = 0; i < NPIECES; i++)
      if (mmap((void *)at(PIECES[i].page), (size_t)(PIECES[i].pages * page_size), PIECES[i].prot,
               flags_map, -1, 0) == MAP_FAILED)
        return 2;
    munmap((void *)window, wlen);
    long c1 = kb_field("/proc/meminfo", "Committed_AS:");
    for (int i = 0; i < NPIECES; i++)
      if (mmap((void *)at(PIECES[i].page), (size_t)(PIECES[i].pages * page_size), PIECES[i].prot,
               flags_map, -1, 0) == MAP_FAILED)
        return 2;
    if (syscall(SYS_mremap, at(SPEC.old), (size_t)(SPEC.old_pages * page_size),
                (size_t)(new_pages * page_size), SPEC.flags, new_addr) == -1) {
      printf("mremap failed: %s\n", strerror(errno));
      return 2;
    }
    munmap((void *)window, wlen);
    long c2 = kb_field("/proc/meminfo", "Committed_AS:");
    ctl_total += c1 - c0;
    test_total += c2 - c1;
    drifts[k] = ((double)(c2 - c1) - (double)(c1 - c0)) / (double)(page_size / 1024);
    c0 = c2;
  }
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && drifts[j - 1] > drifts[j]; j--) {
      double t = drifts[j];
      drifts[j] = drifts[j - 1];
      drifts[j - 1] = t;
    }
  double drift = drifts[n / 2];
  printf(
      "Committed_AS over %ld cycles of map, mremap, unmap: %+ld kB (without the mremap: %+ld kB)\n",
      n, test_total, ctl_total);
  printf("drift per cycle: %.2f page(s)\n", drift);
  int broken = drift >= 0.5 || drift <= -0.5;
  printf(
      "\nThe invariant: mremap must change Committed_AS by exactly the charged pages it leaves "
      "mapped,\nso each cycle must leave it where it was. A drift stays after this process "
      "exits.\n");
  printf(broken ? "BROKEN: Committed_AS leaks %.2f page(s) per cycle.\n"
                : "kept: drift %.2f page(s) per cycle.\n",
         drift);
  printf("RESULT id=%s ret=ok drift_pages_per_cycle=%.2f verdict=%s\n", CASE_ID, drift,
         broken ? "broken" : "kept");
  return broken ? 1 : 0;
}
