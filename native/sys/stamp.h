/*
 * Page stamps: what the lab child and the C reproducers write into every page
 * of a layout, and how they read a page back. One definition for both: the
 * lab child includes it from C++, and `mremap-probe repro` copies this file
 * into each reproducer, which is plain C. So: C that C++ also accepts, no
 * allocation, no library calls.
 *
 * Word 0 of a stamped page names it (object and page index), word 1 is the
 * run's nonce, and every other word is derived from both, so a change to any
 * byte of the page is seen.
 */
#ifndef MREMAP_PROBE_STAMP_H
#define MREMAP_PROBE_STAMP_H

#include <stddef.h>
#include <stdint.h>

#define MP_STAMP_MAGIC (0x6d70ULL << 48)

/* Page classes, the top byte of a page word. */
enum mp_page_class {
  MP_PAGE_UNMAPPED = 0,
  MP_PAGE_ZERO = 1,
  MP_PAGE_STAMP = 2,      /* bits 32..47: object, bits 0..31: page index */
  MP_PAGE_OTHER = 3,      /* mapped and readable, bytes that are not this run's stamp */
  MP_PAGE_UNREADABLE = 4, /* mapped, but reading it fails (a shmem page past EOF: SIGBUS) */
};
#define MP_PAGE_CLASS_SHIFT 56

static inline uint64_t mp_stamp_word0(uint64_t object, uint64_t page) {
  return MP_STAMP_MAGIC | ((object & 0xffffULL) << 32) | (page & 0xffffffffULL);
}

/* splitmix64's finaliser: a cheap, well-spread function of (word0, nonce, i). */
static inline uint64_t mp_stamp_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static inline uint64_t mp_stamp_word(uint64_t word0, uint64_t nonce, uint64_t i) {
  if (i == 0) return word0;
  if (i == 1) return nonce;
  return mp_stamp_mix(word0 ^ (nonce * 0x100000001b3ULL) ^ (i << 17));
}

/* Fills one page (nwords words) with the stamp of (object, page). */
static inline void mp_stamp_page(uint64_t* words, size_t nwords, uint64_t object, uint64_t page,
                                 uint64_t nonce) {
  uint64_t w0 = mp_stamp_word0(object, page);
  size_t i;
  for (i = 0; i < nwords; i++) words[i] = mp_stamp_word(w0, nonce, i);
}

/* The page word of a page that was read: zero, this run's stamp, or other bytes. */
static inline uint64_t mp_classify_page(const uint64_t* words, size_t nwords, uint64_t nonce) {
  size_t i;
  for (i = 0; i < nwords && words[i] == 0; i++) {
  }
  if (i == nwords) return (uint64_t)MP_PAGE_ZERO << MP_PAGE_CLASS_SHIFT;
  if ((words[0] & (0xffffULL << 48)) == MP_STAMP_MAGIC && words[1] == nonce) {
    for (i = 2; i < nwords; i++) {
      if (words[i] != mp_stamp_word(words[0], nonce, i))
        return (uint64_t)MP_PAGE_OTHER << MP_PAGE_CLASS_SHIFT;
    }
    return ((uint64_t)MP_PAGE_STAMP << MP_PAGE_CLASS_SHIFT) | (words[0] & 0xffffffffffffULL);
  }
  return (uint64_t)MP_PAGE_OTHER << MP_PAGE_CLASS_SHIFT;
}

#endif /* MREMAP_PROBE_STAMP_H */
