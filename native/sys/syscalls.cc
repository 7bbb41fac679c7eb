// Wrappers over raw system calls; see syscalls.h. Allocation-free.
#include "syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

// sys_mmap passes a byte offset to SYS_mmap and addresses travel as 64-bit
// words: both hold on 64-bit Linux only (32-bit arm has mmap2 instead).
static_assert(sizeof(void*) == 8, "the addon is built for 64-bit Linux only");

namespace mp {

namespace {
// syscall(2) reports failure through errno; fold it into the return value.
inline int64_t ret(long r) { return r == -1 ? -static_cast<int64_t>(errno) : r; }
}  // namespace

int64_t sys_mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd, int64_t offset) {
  long r = syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
  // Addresses are below 2^63 on every 64-bit Linux; errors are -4095..-1.
  if (r == -1) return -static_cast<int64_t>(errno);
  return r;
}

int64_t sys_munmap(uint64_t addr, uint64_t len) { return ret(syscall(SYS_munmap, addr, len)); }

int64_t sys_mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags,
                   uint64_t new_addr) {
  return ret(syscall(SYS_mremap, old_addr, old_len, new_len, flags, new_addr));
}

int64_t sys_mprotect(uint64_t addr, uint64_t len, int prot) {
  return ret(syscall(SYS_mprotect, addr, len, prot));
}

int64_t sys_madvise(uint64_t addr, uint64_t len, int advice) {
  return ret(syscall(SYS_madvise, addr, len, advice));
}

int64_t sys_mincore(uint64_t addr, uint64_t len, unsigned char* vec) {
  return ret(syscall(SYS_mincore, addr, len, vec));
}

int64_t sys_mlock(uint64_t addr, uint64_t len) { return ret(syscall(SYS_mlock, addr, len)); }

int64_t sys_munlock(uint64_t addr, uint64_t len) { return ret(syscall(SYS_munlock, addr, len)); }

int64_t sys_getrlimit(int resource, uint64_t* cur, uint64_t* max) {
  struct rlimit64 rl;
  long r = syscall(SYS_prlimit64, 0, resource, nullptr, &rl);
  if (r == -1) return -static_cast<int64_t>(errno);
  *cur = rl.rlim_cur;
  *max = rl.rlim_max;
  return 0;
}

int64_t sys_setrlimit(int resource, uint64_t cur, uint64_t max) {
  struct rlimit64 rl;
  rl.rlim_cur = cur;
  rl.rlim_max = max;
  return ret(syscall(SYS_prlimit64, 0, resource, &rl, nullptr));
}

int64_t sys_memfd_create(const char* name, unsigned flags) {
  return ret(syscall(SYS_memfd_create, name, flags));
}

int64_t sys_ftruncate(int fd, int64_t len) { return ret(syscall(SYS_ftruncate, fd, len)); }

int64_t sys_close(int fd) { return ret(syscall(SYS_close, fd)); }

int64_t sys_open(const char* path, int flags) {
  return ret(syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0));
}

int64_t sys_read(int fd, void* buf, uint64_t len) {
  for (;;) {
    long r = syscall(SYS_read, fd, buf, len);
    if (r == -1 && errno == EINTR) continue;
    return ret(r);
  }
}

int64_t sys_pread(int fd, void* buf, uint64_t len, int64_t off) {
  for (;;) {
    long r = syscall(SYS_pread64, fd, buf, len, off);
    if (r == -1 && errno == EINTR) continue;
    return ret(r);
  }
}

int64_t sys_write(int fd, const void* buf, uint64_t len) {
  for (;;) {
    long r = syscall(SYS_write, fd, buf, len);
    if (r == -1 && errno == EINTR) continue;
    return ret(r);
  }
}

int64_t sys_pwrite(int fd, const void* buf, uint64_t len, int64_t off) {
  for (;;) {
    long r = syscall(SYS_pwrite64, fd, buf, len, off);
    if (r == -1 && errno == EINTR) continue;
    return ret(r);
  }
}

int64_t sys_page_size() { return sysconf(_SC_PAGESIZE); }

int64_t sys_flock(int fd, int operation) {
  for (;;) {
    long r = syscall(SYS_flock, fd, operation);
    // A blocking lock wait is interrupted by signals; LOCK_NB callers never see EINTR.
    if (r == -1 && errno == EINTR) continue;
    return ret(r);
  }
}

size_t format_u64(uint64_t v, char* out) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

int64_t read_proc_maps(int pid, char* buf, uint64_t cap) {
  char path[40] = "/proc/";
  size_t p = 6;
  if (pid > 0) {
    p += format_u64(static_cast<uint64_t>(pid), path + p);
  } else {
    const char self[] = "self";
    for (size_t i = 0; i < 4; i++) path[p++] = self[i];
  }
  const char tail[] = "/maps";
  for (size_t i = 0; i < sizeof(tail); i++) path[p + i] = tail[i];

  int64_t fd = sys_open(path, O_RDONLY);
  if (fd < 0) return fd;
  uint64_t used = 0;
  int64_t result = 0;
  for (;;) {
    if (used == cap) {
      // Full: find out whether anything is left without losing the buffer.
      char probe;
      int64_t r = sys_read(static_cast<int>(fd), &probe, 1);
      result = r > 0 ? -ENOBUFS : (r < 0 ? r : static_cast<int64_t>(used));
      break;
    }
    int64_t r = sys_read(static_cast<int>(fd), buf + used, cap - used);
    if (r < 0) {
      result = r;
      break;
    }
    if (r == 0) {
      result = static_cast<int64_t>(used);
      break;
    }
    used += static_cast<uint64_t>(r);
  }
  sys_close(static_cast<int>(fd));
  return result;
}

}  // namespace mp
