// The lab seen from the parent: fork a child, ring it, wait for its answer.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "lab_proto.h"

namespace mp {
namespace lab {

enum class ChildState { kRunning, kExited, kSignaled, kTimedOut, kClosed };

struct Handle {
  pid_t pid = -1;
  int req_fd = -1;   // parent writes doorbells here
  int resp_fd = -1;  // parent reads answers here
  char* shm = nullptr;
  uint64_t shm_size = 0;
  ChildState state = ChildState::kClosed;
  int exit_status = 0;  // with kExited
  int term_signal = 0;  // with kSignaled and kTimedOut
};

// Maps the shared region (data_cap bytes of data area), makes the pipes and
// forks the child. Returns 0 or -errno.
int64_t open(Handle* h, uint64_t data_cap);

// Runs the batch already written into the shared region. Returns 0 when the
// child answered; -ETIMEDOUT when it did not within timeout_ms (it is then
// killed and reaped); -ECHILD when it died (state and status say how).
int64_t call(Handle* h, int timeout_ms);

// Kills and reaps the child if it still runs, closes the pipes and unmaps the
// shared region. Safe to call twice.
void close(Handle* h);

inline Header* header(Handle* h) { return reinterpret_cast<Header*>(h->shm); }
inline OpRec* ops(Handle* h) { return reinterpret_cast<OpRec*>(h->shm + kOpsOffset); }
inline Result* results(Handle* h) { return reinterpret_cast<Result*>(h->shm + kResultsOffset); }
inline char* data(Handle* h) { return h->shm + kDataOffset; }

}  // namespace lab
}  // namespace mp
