// The lab's wire format: what the Node process and the forked lab child share.
// The addon exports the op table, the record sizes and field offsets and the
// page classes (native/binding/addon.cc, Protocol()), so TypeScript reads
// them from here instead of keeping a copy.
//
// Both sides see one MAP_SHARED region made before the fork. The parent writes
// a batch of operation records, rings the child with one byte on a pipe, and
// waits for one byte back; the child runs the batch in order and writes one
// result record per operation plus any variable-length data.
#pragma once

#include <stdint.h>

#include "stamp.h"

namespace mp {
namespace lab {

constexpr uint32_t kMagic = 0x6d706c62;  // "mplb"
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxOps = 4096;
constexpr uint32_t kOpArgs = 6;
// The child's scratch area: maps text, and one page at a time for kStamp and
// kCheck, so it holds the largest base page Linux has (256 KiB; arm64 64 KiB).
constexpr uint64_t kScratchBytes = 256 * 1024;

// Every operation: its name (as TypeScript spells it), its code, and what it
// takes and gives. The enum below and the table the addon exports to
// TypeScript are both generated from this one list.
// clang-format off
#define MP_LAB_OPS(X) \
  X(kPing, ping, 1)                /* -> ret pid of the child */ \
  X(kMmap, mmap, 2)                /* a0 addr, a1 len, a2 prot, a3 flags, a4 fd, a5 offset -> ret address */ \
  X(kMunmap, munmap, 3)            /* a0 addr, a1 len */ \
  X(kMprotect, mprotect, 4)        /* a0 addr, a1 len, a2 prot */ \
  X(kMremap, mremap, 5)            /* a0 old, a1 old_len, a2 new_len, a3 flags, a4 new_addr -> ret address */ \
  X(kMadvise, madvise, 6)          /* a0 addr, a1 len, a2 advice */ \
  X(kMlock, mlock, 7)              /* a0 addr, a1 len */ \
  X(kMunlock, munlock, 8)          /* a0 addr, a1 len */ \
  X(kGetrlimit, getrlimit, 9)      /* a0 resource -> v0 cur, v1 max */ \
  X(kSetrlimit, setrlimit, 10)     /* a0 resource, a1 cur, a2 max */ \
  X(kStamp, stamp, 11)             /* a0 addr, a1 pages, a2 object, a3 first page index, a4 nonce */ \
  X(kCheck, check, 12)             /* a0 addr, a1 pages, a2 nonce -> data: one page word per page */ \
  X(kFillerSetup, fillerSetup, 13) /* a0 base, a1 slots, a2 stride, a3 prot */ \
  X(kFill, fill, 14)               /* a0 wanted filler count -> ret count reached, v0 errno that stopped it */ \
  X(kCount, count, 15)             /* -> ret map count (gate VMA excluded), v0 lines, v1 gate listed */ \
  X(kQuery, query, 16)             /* a0 start, a1 end, a2 QueryFlags -> ret n, v0 QueryMethod, data: VmaRec[n] */ \
  X(kFindFree, findFree, 17)       /* a0 len -> ret start of a free range of that length */ \
  X(kMemfd, memfd, 18)             /* a0 size -> ret fd of a new memfd of that size */ \
  X(kClose, close, 19)             /* a0 fd */ \
  X(kProcField, procField, 20)     /* a0 ProcFile, a1..a2 field name (16 bytes, NUL padded) -> ret its number */ \
  X(kEffectiveCaps, effectiveCaps, 21) /* a0 low, a1 high 32 bits: the effective set becomes them & permitted */ \
  X(kCrash, crash, 22)             /* self-test: die of SIGSEGV */ \
  X(kHang, hang, 23)               /* self-test: never answer */ \
  X(kExit, exit, 24)               /* a0 status: _exit */
// clang-format on

enum Op : uint32_t {
#define MP_LAB_OP_ENUM(id, name, code) id = code,
  MP_LAB_OPS(MP_LAB_OP_ENUM)
#undef MP_LAB_OP_ENUM
};

// Files kProcField reads: a number after "Name:" (kB for sizes).
enum ProcFile : uint64_t {
  kProcMeminfo = 0,     // /proc/meminfo (Committed_AS, CommitLimit)
  kProcSelfStatus = 1,  // /proc/self/status (VmSize, VmLck, Seccomp)
};

// Flags on an operation record.
enum OpFlags : uint32_t {
  kStopOnError = 1,  // a negative result ends the batch here
};

enum QueryFlags : uint64_t {
  kQueryText = 1,  // read the maps text even where PROCMAP_QUERY works
};

enum QueryMethod : uint64_t {
  kMethodIoctl = 1,
  kMethodText = 2,
};

// Page classes reported by kCheck: the top byte of a page word (stamp.h).
enum PageClass : uint64_t {
  kPageUnmapped = MP_PAGE_UNMAPPED,
  kPageZero = MP_PAGE_ZERO,
  kPageStamp = MP_PAGE_STAMP,
  kPageOther = MP_PAGE_OTHER,
  kPageUnreadable = MP_PAGE_UNREADABLE,
};

struct OpRec {
  uint32_t op;
  uint32_t flags;
  uint64_t a[kOpArgs];
};

struct Result {
  int64_t ret;
  uint64_t v[3];
  uint32_t data_off;  // offset into the data area
  uint32_t data_len;  // bytes
};

constexpr uint32_t kNameBytes = 96;
struct VmaRec {
  uint64_t start;
  uint64_t end;
  uint64_t offset;
  uint64_t inode;
  uint32_t dev_major;
  uint32_t dev_minor;
  uint32_t perms;  // bit 0 r, 1 w, 2 x, 3 shared
  uint32_t name_len;
  char name[kNameBytes];
};

struct Header {
  uint32_t magic;
  uint32_t version;
  uint32_t nops;       // in: operations in this batch
  uint32_t executed;   // out: operations run
  uint64_t data_used;  // out: bytes of data written
  uint64_t data_cap;   // bytes available in the data area
  int64_t child_pid;
  uint64_t reserved[3];
};

constexpr uint64_t kOpsOffset = sizeof(Header);
constexpr uint64_t kResultsOffset = kOpsOffset + kMaxOps * sizeof(OpRec);
// 4096-byte alignment keeps the areas apart on cache lines; nothing needs them page aligned.
constexpr uint64_t kScratchOffset = (kResultsOffset + kMaxOps * sizeof(Result) + 4095) & ~4095ULL;
constexpr uint64_t kDataOffset = kScratchOffset + kScratchBytes;

}  // namespace lab
}  // namespace mp
