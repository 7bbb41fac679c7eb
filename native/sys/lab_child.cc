// The lab child loop.
//
// This code runs in a child forked from a multi-threaded Node process. Only the
// forking thread exists in the child, and any lock another thread held at the
// fork stays held for ever: so nothing here may allocate (no malloc, no new, no
// stdio, no C++ library), and every system call is made raw. All buffers were
// mapped before the fork (the shared region) or live on the stack and in .bss.
// The child's map count must change only through the operations it is asked to
// run, which is what makes its counts exact.
#include "lab_child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lab_proto.h"
#include "syscalls.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
// close_range (Linux 5.9) has number 436 on every architecture; C library
// headers before glibc 2.34 do not name it.
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

namespace mp {
namespace lab {

namespace {

#ifdef PROCMAP_QUERY
using ProcmapQuery = struct procmap_query;
constexpr unsigned long kProcmapQuery = PROCMAP_QUERY;
constexpr uint64_t kQueryCoveringOrNext = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
#else
// PROCMAP_QUERY (Linux 6.11, include/uapi/linux/fs.h), declared here because
// the build machine's headers predate it (Debian 12's are Linux 6.1). _IOWR
// comes from the C library's headers, so the code fits the architecture.
struct ProcmapQuery {
  uint64_t size;
  uint64_t query_flags;
  uint64_t query_addr;
  uint64_t vma_start;
  uint64_t vma_end;
  uint64_t vma_flags;
  uint64_t vma_page_size;
  uint64_t vma_offset;
  uint64_t inode;
  uint32_t dev_major;
  uint32_t dev_minor;
  uint32_t vma_name_size;
  uint32_t build_id_size;
  uint64_t vma_name_addr;
  uint64_t build_id_addr;
};
constexpr unsigned long kProcmapQuery = _IOWR('f', 17, ProcmapQuery);
constexpr uint64_t kQueryCoveringOrNext = 0x10;
#endif

// State of the child; lives in the child's private copy of .bss.
struct State {
  char* shm;
  Header* hdr;
  OpRec* ops;
  Result* results;
  char* scratch;
  char* data;
  uint64_t data_cap;
  uint64_t page;
  int mem_fd;         // /proc/self/mem, or -1
  int maps_fd;        // /proc/self/maps kept open for PROCMAP_QUERY, or -1
  int procmap_query;  // 1 works, 0 unknown, -1 unsupported
  uint64_t filler_base;
  uint64_t filler_slots;
  uint64_t filler_stride;
  int filler_prot;
  uint64_t filler_count;
};
State g;

inline void copy_bytes(char* dst, const char* src, uint64_t n) {
  for (uint64_t i = 0; i < n; i++) dst[i] = src[i];
}

inline bool starts_with(const char* s, uint64_t n, const char* prefix) {
  for (uint64_t i = 0; prefix[i] != 0; i++) {
    if (i >= n || s[i] != prefix[i]) return false;
  }
  return true;
}

// Reserves `n` bytes of the data area for this operation's output.
char* data_alloc(Result* res, uint64_t n) {
  uint64_t used = g.hdr->data_used;
  if (used + n > g.data_cap) return nullptr;
  if (res->data_len == 0) res->data_off = static_cast<uint32_t>(used);
  res->data_len += static_cast<uint32_t>(n);
  g.hdr->data_used = used + n;
  return g.data + used;
}

// Reads one page into the scratch area without faulting on an unmapped or
// unreadable page. Returns 0, -ENOMEM when the page is not mapped, or -errno.
int64_t read_page(uint64_t addr, char* out) {
  unsigned char vec;
  int64_t r = sys_mincore(addr, g.page, &vec);
  if (r == -ENOMEM) return -ENOMEM;
  if (g.mem_fd >= 0) {
    r = sys_pread(g.mem_fd, out, g.page, static_cast<int64_t>(addr));
    if (r == static_cast<int64_t>(g.page)) return 0;
  }
  struct iovec local = {out, g.page};
  struct iovec remote = {reinterpret_cast<void*>(addr), g.page};
  long n = syscall(SYS_process_vm_readv, syscall(SYS_getpid), &local, 1, &remote, 1, 0);
  if (n == static_cast<long>(g.page)) return 0;
  return n < 0 ? -static_cast<int64_t>(errno) : -EIO;
}

int64_t write_page(uint64_t addr, const char* in) {
  if (g.mem_fd >= 0) {
    int64_t r = sys_pwrite(g.mem_fd, in, g.page, static_cast<int64_t>(addr));
    if (r == static_cast<int64_t>(g.page)) return 0;
  }
  struct iovec local = {const_cast<char*>(in), g.page};
  struct iovec remote = {reinterpret_cast<void*>(addr), g.page};
  long n = syscall(SYS_process_vm_writev, syscall(SYS_getpid), &local, 1, &remote, 1, 0);
  if (n == static_cast<long>(g.page)) return 0;
  return n < 0 ? -static_cast<int64_t>(errno) : -EIO;
}

int64_t op_stamp(const OpRec& op) {
  if (g.page > kScratchBytes) return -E2BIG;
  uint64_t addr = op.a[0], pages = op.a[1], object = op.a[2], first = op.a[3], nonce = op.a[4];
  uint64_t* words = reinterpret_cast<uint64_t*>(g.scratch);
  for (uint64_t p = 0; p < pages; p++) {
    mp_stamp_page(words, g.page / 8, object, first + p, nonce);
    int64_t r = write_page(addr + p * g.page, g.scratch);
    if (r < 0) return r;
  }
  return 0;
}

int64_t op_check(const OpRec& op, Result* res) {
  uint64_t addr = op.a[0], pages = op.a[1], nonce = op.a[2];
  if (g.page > kScratchBytes) return -E2BIG;
  uint64_t* out = reinterpret_cast<uint64_t*>(data_alloc(res, pages * 8));
  if (out == nullptr) return -ENOBUFS;
  for (uint64_t p = 0; p < pages; p++) {
    int64_t r = read_page(addr + p * g.page, g.scratch);
    if (r == -ENOMEM) {
      out[p] = kPageUnmapped << MP_PAGE_CLASS_SHIFT;
    } else if (r < 0) {
      out[p] = kPageUnreadable << MP_PAGE_CLASS_SHIFT;
    } else {
      out[p] = mp_classify_page(reinterpret_cast<uint64_t*>(g.scratch), g.page / 8, nonce);
    }
  }
  return 0;
}

int64_t op_fill(const OpRec& op, Result* res) {
  uint64_t want = op.a[0];
  if (g.filler_slots == 0) return -EINVAL;
  if (want > g.filler_slots) return -ERANGE;
  while (g.filler_count > want) {
    uint64_t addr = g.filler_base + (g.filler_count - 1) * g.filler_stride;
    int64_t r = sys_munmap(addr, g.page);
    if (r < 0) {
      res->v[0] = static_cast<uint64_t>(-r);
      return static_cast<int64_t>(g.filler_count);
    }
    g.filler_count--;
  }
  while (g.filler_count < want) {
    uint64_t addr = g.filler_base + g.filler_count * g.filler_stride;
    int64_t r = sys_mmap(addr, g.page, g.filler_prot,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (r < 0) {
      res->v[0] = static_cast<uint64_t>(-r);
      break;
    }
    if (static_cast<uint64_t>(r) != addr) {
      // A kernel without MAP_FIXED_NOREPLACE took the address as a hint.
      sys_munmap(static_cast<uint64_t>(r), g.page);
      res->v[0] = EEXIST;
      break;
    }
    g.filler_count++;
  }
  return static_cast<int64_t>(g.filler_count);
}

// Counts the lines of /proc/self/maps, reading with read() into the scratch
// area, and whether the last one is the gate VMA (kGateVmaName; none on arm64).
int64_t op_count(Result* res) {
  int64_t fd = sys_open("/proc/self/maps", O_RDONLY);
  if (fd < 0) return fd;
  uint64_t lines = 0;
  char tail[16];
  uint64_t tail_len = 0;
  for (;;) {
    int64_t n = sys_read(static_cast<int>(fd), g.scratch, kScratchBytes);
    if (n < 0) {
      sys_close(static_cast<int>(fd));
      return n;
    }
    if (n == 0) break;
    for (int64_t i = 0; i < n; i++) lines += g.scratch[i] == '\n';
    // Keep the last 16 bytes seen, across reads.
    for (int64_t i = (n > 16 ? n - 16 : 0); i < n; i++) {
      if (tail_len == sizeof(tail)) {
        for (uint64_t k = 1; k < sizeof(tail); k++) tail[k - 1] = tail[k];
        tail_len--;
      }
      tail[tail_len++] = g.scratch[i];
    }
  }
  sys_close(static_cast<int>(fd));
  // The last line ends in the gate VMA's name and a newline.
  uint64_t glen = sizeof(kGateVmaName) - 1;
  static_assert(sizeof(kGateVmaName) < sizeof(tail), "the tail holds the gate VMA's name");
  bool has_gate = glen > 0 && tail_len >= glen + 1 && tail[tail_len - 1] == '\n';
  for (uint64_t i = 0; has_gate && i < glen; i++) {
    if (tail[tail_len - 1 - glen + i] != kGateVmaName[i]) has_gate = false;
  }
  res->v[0] = lines;
  res->v[1] = has_gate ? 1 : 0;
  return static_cast<int64_t>(lines - (has_gate ? 1 : 0));
}

int64_t query_ioctl(uint64_t start, uint64_t end, Result* res) {
  if (g.maps_fd < 0) return -ENOTTY;
  uint64_t addr = start;
  int64_t n = 0;
  char* name = g.scratch;
  while (addr < end) {
    ProcmapQuery q;
    for (uint64_t i = 0; i < sizeof(q); i++) reinterpret_cast<char*>(&q)[i] = 0;
    q.size = sizeof(q);
    q.query_flags = kQueryCoveringOrNext;
    q.query_addr = addr;
    q.vma_name_addr = reinterpret_cast<uint64_t>(name);
    q.vma_name_size = 4096;
    long r = syscall(SYS_ioctl, g.maps_fd, kProcmapQuery, &q);
    if (r == -1) {
      int e = errno;
      if (e == ENOENT) break;
      return -static_cast<int64_t>(e);
    }
    if (q.vma_start >= end) break;
    VmaRec* rec = reinterpret_cast<VmaRec*>(data_alloc(res, sizeof(VmaRec)));
    if (rec == nullptr) return -ENOBUFS;
    rec->start = q.vma_start;
    rec->end = q.vma_end;
    rec->offset = q.vma_offset;
    rec->inode = q.inode;
    rec->dev_major = q.dev_major;
    rec->dev_minor = q.dev_minor;
    rec->perms = static_cast<uint32_t>(q.vma_flags & 0xf);
    uint32_t len = q.vma_name_size > 0 ? q.vma_name_size - 1 : 0;  // size counts the NUL
    if (len > kNameBytes) len = kNameBytes;
    rec->name_len = len;
    copy_bytes(rec->name, name, len);
    n++;
    addr = q.vma_end;
  }
  res->v[0] = kMethodIoctl;
  return n;
}

bool parse_hex(const char*& p, const char* end, uint64_t* out) {
  uint64_t v = 0;
  const char* s = p;
  while (p < end) {
    char c = *p;
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      break;
    v = (v << 4) | static_cast<uint64_t>(d);
    p++;
  }
  *out = v;
  return p != s;
}

bool parse_dec(const char*& p, const char* end, uint64_t* out) {
  uint64_t v = 0;
  const char* s = p;
  while (p < end && *p >= '0' && *p <= '9') v = v * 10 + static_cast<uint64_t>(*p++ - '0');
  *out = v;
  return p != s;
}

// Parses one maps line into rec; returns false when it does not parse.
bool parse_maps_line(const char* p, const char* end, VmaRec* rec) {
  uint64_t v;
  if (!parse_hex(p, end, &rec->start) || p >= end || *p++ != '-') return false;
  if (!parse_hex(p, end, &rec->end) || p >= end || *p++ != ' ') return false;
  if (end - p < 5) return false;
  rec->perms = (p[0] == 'r' ? 1u : 0u) | (p[1] == 'w' ? 2u : 0u) | (p[2] == 'x' ? 4u : 0u) |
               (p[3] == 's' ? 8u : 0u);
  p += 5;
  if (!parse_hex(p, end, &rec->offset) || p >= end || *p++ != ' ') return false;
  if (!parse_hex(p, end, &v) || p >= end || *p++ != ':') return false;
  rec->dev_major = static_cast<uint32_t>(v);
  if (!parse_hex(p, end, &v) || p >= end || *p++ != ' ') return false;
  rec->dev_minor = static_cast<uint32_t>(v);
  if (!parse_dec(p, end, &rec->inode)) return false;
  while (p < end && *p == ' ') p++;
  uint64_t len = static_cast<uint64_t>(end - p);
  if (len > kNameBytes) len = kNameBytes;
  rec->name_len = static_cast<uint32_t>(len);
  copy_bytes(rec->name, p, len);
  return true;
}

int64_t query_text(uint64_t start, uint64_t end, Result* res) {
  int64_t fd = sys_open("/proc/self/maps", O_RDONLY);
  if (fd < 0) return fd;
  uint64_t have = 0;
  int64_t n = 0;
  bool done = false;
  int64_t err = 0;
  while (!done) {
    int64_t r = sys_read(static_cast<int>(fd), g.scratch + have, kScratchBytes - have);
    if (r < 0) {
      err = r;
      break;
    }
    if (r == 0 && have == 0) break;
    have += static_cast<uint64_t>(r);
    uint64_t line_start = 0;
    for (uint64_t i = 0; i < have; i++) {
      if (g.scratch[i] != '\n') continue;
      VmaRec rec;
      if (parse_maps_line(g.scratch + line_start, g.scratch + i, &rec)) {
        if (rec.start >= end) {
          done = true;
          break;
        }
        if (rec.end > start) {
          VmaRec* out = reinterpret_cast<VmaRec*>(data_alloc(res, sizeof(VmaRec)));
          if (out == nullptr) {
            err = -ENOBUFS;
            done = true;
            break;
          }
          *out = rec;
          n++;
        }
      }
      line_start = i + 1;
    }
    if (r == 0) break;
    // Carry the partial last line to the front of the scratch area.
    uint64_t rest = have - line_start;
    if (rest == kScratchBytes) {
      err = -E2BIG;
      break;
    }
    for (uint64_t i = 0; i < rest; i++) g.scratch[i] = g.scratch[line_start + i];
    have = rest;
  }
  sys_close(static_cast<int>(fd));
  if (err < 0) return err;
  res->v[0] = kMethodText;
  return n;
}

int64_t op_query(const OpRec& op, Result* res) {
  uint64_t start = op.a[0], end = op.a[1];
  bool text = (op.a[2] & kQueryText) != 0 || g.procmap_query < 0;
  if (!text) {
    uint64_t saved_used = g.hdr->data_used;
    int64_t r = query_ioctl(start, end, res);
    if (r >= 0) {
      g.procmap_query = 1;
      return r;
    }
    if (r != -ENOTTY && r != -EINVAL && r != -EOPNOTSUPP) return r;
    g.procmap_query = -1;  // this kernel has no PROCMAP_QUERY
    g.hdr->data_used = saved_used;
    res->data_len = 0;
  }
  return query_text(start, end, res);
}

// Reads one "Name:   number" field of /proc/meminfo or /proc/self/status.
int64_t op_proc_field(const OpRec& op) {
  const char* path = op.a[0] == kProcMeminfo ? "/proc/meminfo" : "/proc/self/status";
  if (op.a[0] != kProcMeminfo && op.a[0] != kProcSelfStatus) return -EINVAL;
  char key[18];
  uint64_t klen = 0;
  for (uint64_t i = 0; i < 16; i++) {
    char c = static_cast<char>((op.a[1 + i / 8] >> (8 * (i % 8))) & 0xff);
    if (c == 0) break;
    key[klen++] = c;
  }
  if (klen == 0) return -EINVAL;
  key[klen++] = ':';
  key[klen] = 0;
  int64_t fd = sys_open(path, O_RDONLY);
  if (fd < 0) return fd;
  int64_t n = sys_read(static_cast<int>(fd), g.scratch, kScratchBytes - 1);
  sys_close(static_cast<int>(fd));
  if (n < 0) return n;
  for (int64_t i = 0; i < n; i++) {
    if ((i == 0 || g.scratch[i - 1] == '\n') &&
        starts_with(g.scratch + i, static_cast<uint64_t>(n - i), key)) {
      const char* p = g.scratch + i + klen;
      const char* end = g.scratch + n;
      while (p < end && (*p == ' ' || *p == '\t')) p++;
      uint64_t v;
      if (parse_dec(p, end, &v)) return static_cast<int64_t>(v);
      return -EINVAL;
    }
  }
  return -ENODATA;
}

// The effective capabilities a case runs with: the wanted set, within the
// permitted one. The permitted set is kept, so the next case can take back
// what this one gave up: one lab child serves cases with any capabilities.
int64_t op_effective_caps(uint64_t low, uint64_t high) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) == -1) return -static_cast<int64_t>(errno);
  data[0].effective = static_cast<uint32_t>(low) & data[0].permitted;
  data[1].effective = static_cast<uint32_t>(high) & data[1].permitted;
  if (syscall(SYS_capset, &hdr, data) == -1) return -static_cast<int64_t>(errno);
  return 0;
}

int64_t run_op(const OpRec& op, Result* res) {
  const uint64_t* a = op.a;
  switch (op.op) {
    case kPing:
      return syscall(SYS_getpid);
    case kMmap:
      return sys_mmap(a[0], a[1], static_cast<int>(a[2]), static_cast<int>(a[3]),
                      static_cast<int>(static_cast<int64_t>(a[4])), static_cast<int64_t>(a[5]));
    case kMunmap:
      return sys_munmap(a[0], a[1]);
    case kMprotect:
      return sys_mprotect(a[0], a[1], static_cast<int>(a[2]));
    case kMremap:
      return sys_mremap(a[0], a[1], a[2], static_cast<int>(a[3]), a[4]);
    case kMadvise:
      return sys_madvise(a[0], a[1], static_cast<int>(a[2]));
    case kMlock:
      return sys_mlock(a[0], a[1]);
    case kMunlock:
      return sys_munlock(a[0], a[1]);
    case kGetrlimit:
      return sys_getrlimit(static_cast<int>(a[0]), &res->v[0], &res->v[1]);
    case kSetrlimit:
      return sys_setrlimit(static_cast<int>(a[0]), a[1], a[2]);
    case kStamp:
      return op_stamp(op);
    case kCheck:
      return op_check(op, res);
    case kFillerSetup:
      if (g.filler_count != 0) return -EBUSY;
      if (a[2] < g.page) return -EINVAL;
      g.filler_base = a[0];
      g.filler_slots = a[1];
      g.filler_stride = a[2];
      g.filler_prot = static_cast<int>(a[3]);
      return 0;
    case kFill:
      return op_fill(op, res);
    case kCount:
      return op_count(res);
    case kQuery:
      return op_query(op, res);
    case kFindFree: {
      int64_t r = sys_mmap(0, a[0], PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (r < 0) return r;
      sys_munmap(static_cast<uint64_t>(r), a[0]);
      return r;
    }
    case kMemfd: {
      int64_t fd = sys_memfd_create("mremap-probe", MFD_CLOEXEC);
      if (fd < 0) return fd;
      int64_t r = sys_ftruncate(static_cast<int>(fd), static_cast<int64_t>(a[0]));
      if (r < 0) {
        sys_close(static_cast<int>(fd));
        return r;
      }
      return fd;
    }
    case kClose:
      return sys_close(static_cast<int>(a[0]));
    case kProcField:
      return op_proc_field(op);
    case kEffectiveCaps:
      return op_effective_caps(a[0], a[1]);
    case kCrash:
      // A deliberate SIGSEGV, for the self-tests of crash reporting.
      syscall(SYS_kill, syscall(SYS_getpid), SIGSEGV);
      return -EFAULT;
    case kHang:
      // ppoll with no descriptors and no timeout sleeps until a signal, as
      // pause() does; arm64 has no pause system call.
      for (;;) syscall(SYS_ppoll, nullptr, 0, nullptr, nullptr, 0);
    case kExit:
      syscall(SYS_exit_group, static_cast<int>(a[0]));
      return 0;
    default:
      return -ENOSYS;
  }
}

void run_batch() {
  Header* hdr = g.hdr;
  uint32_t nops = hdr->nops;
  if (nops > kMaxOps) nops = kMaxOps;
  hdr->data_used = 0;
  hdr->executed = 0;
  for (uint32_t i = 0; i < nops; i++) {
    Result* res = &g.results[i];
    res->ret = 0;
    res->v[0] = res->v[1] = res->v[2] = 0;
    res->data_off = 0;
    res->data_len = 0;
    res->ret = run_op(g.ops[i], res);
    hdr->executed = i + 1;
    if (res->ret < 0 && (g.ops[i].flags & kStopOnError) != 0) break;
  }
}

// Closes every descriptor but the two the child talks over, and points 0-2 at
// /dev/null so the child holds none of the parent's pipes open.
void isolate_descriptors(int keep_a, int keep_b) {
  int64_t null_fd = sys_open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    for (int fd = 0; fd <= 2; fd++) syscall(SYS_dup3, static_cast<int>(null_fd), fd, 0);
  }
  int lo = keep_a < keep_b ? keep_a : keep_b;
  int hi = keep_a < keep_b ? keep_b : keep_a;
  bool ok = true;
  if (lo > 3) ok = ok && syscall(SYS_close_range, 3u, static_cast<unsigned>(lo - 1), 0u) == 0;
  if (hi > lo + 1)
    ok = ok && syscall(SYS_close_range, static_cast<unsigned>(lo + 1),
                       static_cast<unsigned>(hi - 1), 0u) == 0;
  ok = ok && syscall(SYS_close_range, static_cast<unsigned>(hi + 1), ~0u, 0u) == 0;
  if (!ok) {
    // Kernels before 5.9 have no close_range: close one by one.
    for (int fd = 3; fd < 65536; fd++) {
      if (fd != keep_a && fd != keep_b) syscall(SYS_close, fd);
    }
  }
}

void reset_signals() {
  struct sigaction dfl;
  for (uint64_t i = 0; i < sizeof(dfl); i++) reinterpret_cast<char*>(&dfl)[i] = 0;
  dfl.sa_handler = SIG_DFL;
  const int sigs[] = {SIGSEGV, SIGBUS,  SIGILL,  SIGFPE,  SIGABRT, SIGTERM, SIGINT,
                      SIGHUP,  SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD};
  for (int s : sigs) sigaction(s, &dfl, nullptr);
  // A write to the parent after it is gone fails with EPIPE instead of killing us.
  struct sigaction ign = dfl;
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

void child_main(void* shm, uint64_t shm_size, int req_fd, int resp_fd, int parent_pid) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (syscall(SYS_getppid) != parent_pid) syscall(SYS_exit_group, 125);
  prctl(PR_SET_NAME, "mremap-lab");
  reset_signals();
  isolate_descriptors(req_fd, resp_fd);

  g.shm = static_cast<char*>(shm);
  g.hdr = reinterpret_cast<Header*>(g.shm);
  g.ops = reinterpret_cast<OpRec*>(g.shm + kOpsOffset);
  g.results = reinterpret_cast<Result*>(g.shm + kResultsOffset);
  g.scratch = g.shm + kScratchOffset;
  g.data = g.shm + kDataOffset;
  g.data_cap = shm_size - kDataOffset;
  g.page = static_cast<uint64_t>(sys_page_size());
  int64_t fd = sys_open("/proc/self/mem", O_RDWR);
  g.mem_fd = fd >= 0 ? static_cast<int>(fd) : -1;
  fd = sys_open("/proc/self/maps", O_RDONLY);
  g.maps_fd = fd >= 0 ? static_cast<int>(fd) : -1;
  g.procmap_query = 0;
  g.filler_slots = 0;
  g.filler_count = 0;

  for (;;) {
    char bell;
    if (sys_read(req_fd, &bell, 1) != 1) break;  // the parent closed the lab or died
    run_batch();
    if (sys_write(resp_fd, &bell, 1) != 1) break;
  }
  syscall(SYS_exit_group, 0);
  for (;;) {
  }
}

}  // namespace lab
}  // namespace mp
