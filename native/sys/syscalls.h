// Plain wrappers over the memory-management system calls.
//
// Every function returns a non-negative value on success and -errno on
// failure; none of them throws, allocates or touches stdio, so the lab child
// (which must not allocate after fork) can use all of them.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

namespace mp {

int64_t sys_mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd, int64_t offset);
int64_t sys_munmap(uint64_t addr, uint64_t len);
// Raw mremap: new_addr is passed through even without MREMAP_FIXED.
int64_t sys_mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags,
                   uint64_t new_addr);
int64_t sys_mprotect(uint64_t addr, uint64_t len, int prot);
int64_t sys_madvise(uint64_t addr, uint64_t len, int advice);
// vec must hold one byte per page of [addr, addr+len).
int64_t sys_mincore(uint64_t addr, uint64_t len, unsigned char* vec);
int64_t sys_mlock(uint64_t addr, uint64_t len);
int64_t sys_munlock(uint64_t addr, uint64_t len);
int64_t sys_getrlimit(int resource, uint64_t* cur, uint64_t* max);
int64_t sys_setrlimit(int resource, uint64_t cur, uint64_t max);
int64_t sys_memfd_create(const char* name, unsigned flags);
int64_t sys_ftruncate(int fd, int64_t len);
int64_t sys_close(int fd);
int64_t sys_open(const char* path, int flags);
int64_t sys_read(int fd, void* buf, uint64_t len);
int64_t sys_pread(int fd, void* buf, uint64_t len, int64_t off);
int64_t sys_write(int fd, const void* buf, uint64_t len);
int64_t sys_pwrite(int fd, const void* buf, uint64_t len, int64_t off);
int64_t sys_page_size();
// flock(2): an advisory lock on a whole open file (LOCK_SH/LOCK_EX, | LOCK_NB).
int64_t sys_flock(int fd, int operation);

// The gate VMA's name in /proc/PID/maps, or "" where the architecture has
// none: /proc lists the gate VMA after every real VMA, but mm->map_count does
// not count it. x86-64 has [vsyscall] (absent with vsyscall=none); arm64 has
// none. (32-bit arm's vector page, [vectors], is one too, but the addon is
// built for 64-bit targets only; the reproducer's runtime handles arm.)
#if defined(__x86_64__)
constexpr char kGateVmaName[] = "[vsyscall]";
#else
constexpr char kGateVmaName[] = "";
#endif

// Reads a whole /proc file (maps of `pid`, or of the caller when pid <= 0)
// with read() into buf. Returns the number of bytes read, -ENOBUFS when the
// file did not fit (buf then holds the first cap bytes), or -errno.
int64_t read_proc_maps(int pid, char* buf, uint64_t cap);

// Unsigned integer as decimal into out (no libc formatting); returns length.
size_t format_u64(uint64_t v, char* out);

}  // namespace mp
