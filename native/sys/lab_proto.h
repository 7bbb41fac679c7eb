// The lab's wire format: what the Node process and the forked lab child share.
//
// Both sides see one MAP_SHARED region made before the fork. The parent writes
// a batch of operation records, rings the child with one byte on a pipe, and
// waits for one byte back; the child runs the batch in order and writes one
// result record per operation plus any variable-length data.
#pragma once

#include <stdint.h>

namespace mp {
namespace lab {

constexpr uint32_t kMagic = 0x6d706c62;  // "mplb"
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxOps = 4096;
constexpr uint32_t kOpArgs = 6;
// The child's scratch area: maps text, and one page at a time for kStamp and
// kCheck, so it holds the largest base page Linux has (256 KiB; arm64 64 KiB).
constexpr uint64_t kScratchBytes = 256 * 1024;

enum Op : uint32_t {
  kPing = 1,          // -> ret pid of the child
  kMmap = 2,          // a0 addr, a1 len, a2 prot, a3 flags, a4 fd, a5 offset -> ret address
  kMunmap = 3,        // a0 addr, a1 len
  kMprotect = 4,      // a0 addr, a1 len, a2 prot
  kMremap = 5,        // a0 old, a1 old_len, a2 new_len, a3 flags, a4 new_addr -> ret address
  kMadvise = 6,       // a0 addr, a1 len, a2 advice
  kMlock = 7,         // a0 addr, a1 len
  kMunlock = 8,       // a0 addr, a1 len
  kGetrlimit = 9,     // a0 resource -> v0 cur, v1 max
  kSetrlimit = 10,    // a0 resource, a1 cur, a2 max
  kStamp = 11,        // a0 addr, a1 pages, a2 object, a3 first page index, a4 nonce
  kCheck = 12,        // a0 addr, a1 pages, a2 nonce -> data: one PageWord per page
  kFillerSetup = 13,  // a0 base, a1 slots, a2 stride, a3 prot
  kFill = 14,         // a0 wanted filler count -> ret count reached, v0 errno that stopped it
  kCount = 15,        // -> ret map count (gate VMA excluded), v0 lines, v1 gate listed
  kQuery = 16,        // a0 start, a1 end, a2 QueryFlags -> ret n, v0 QueryMethod, data: VmaRec[n]
  kFindFree = 17,     // a0 len -> ret start of a free range of that length
  kMemfd = 18,        // a0 size -> ret fd of a new memfd of that size
  kClose = 19,        // a0 fd
  kProcField = 20,    // a0 ProcFile, a1..a2 field name (16 bytes, NUL padded) -> ret its number
  kDropCap = 21,      // a0 capability number: drop it from the effective and permitted sets
  kCrash = 22,        // self-test: die of SIGSEGV
  kHang = 23,         // self-test: never answer
  kExit = 24,         // a0 status: _exit
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

// Page classes reported by kCheck (top byte of a PageWord).
enum PageClass : uint64_t {
  kPageUnmapped = 0,
  kPageZero = 1,
  kPageStamp = 2,       // bits 32..55: object, bits 0..31: page index
  kPageOther = 3,       // mapped and readable, bytes that are not this run's stamp
  kPageUnreadable = 4,  // mapped, but reading it fails (e.g. a shmem page past EOF: SIGBUS)
};

struct OpRec {
  uint32_t op;
  uint32_t flags;
  uint64_t a[kOpArgs];
};
static_assert(sizeof(OpRec) == 56, "OpRec layout is shared with TypeScript");

struct Result {
  int64_t ret;
  uint64_t v[3];
  uint32_t data_off;  // offset into the data area
  uint32_t data_len;  // bytes
};
static_assert(sizeof(Result) == 40, "Result layout is shared with TypeScript");

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
static_assert(sizeof(VmaRec) == 144, "VmaRec layout is shared with TypeScript");

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
static_assert(sizeof(Header) == 64, "Header layout is shared with TypeScript");

constexpr uint64_t kOpsOffset = sizeof(Header);
constexpr uint64_t kResultsOffset = kOpsOffset + kMaxOps * sizeof(OpRec);
// 4096-byte alignment keeps the areas apart on cache lines; nothing needs them page aligned.
constexpr uint64_t kScratchOffset = (kResultsOffset + kMaxOps * sizeof(Result) + 4095) & ~4095ULL;
constexpr uint64_t kDataOffset = kScratchOffset + kScratchBytes;

// Stamp pattern: word 0 names the page, word 1 the run's nonce, the rest are
// derived from both, so any change to any byte of the page is seen.
constexpr uint64_t kStampMagic = 0x6d70ULL << 48;
inline uint64_t stamp_word0(uint64_t object, uint64_t page) {
  return kStampMagic | ((object & 0xffffULL) << 32) | (page & 0xffffffffULL);
}
inline uint64_t stamp_mix(uint64_t x) {
  // splitmix64 finaliser: a cheap, well-spread function of (word0, nonce, i).
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
inline uint64_t stamp_word(uint64_t word0, uint64_t nonce, uint64_t i) {
  if (i == 0) return word0;
  if (i == 1) return nonce;
  return stamp_mix(word0 ^ (nonce * 0x100000001b3ULL) ^ (i << 17));
}

}  // namespace lab
}  // namespace mp
