// The lab child: the loop a forked, single-threaded child runs.
#pragma once

#include <stdint.h>

namespace mp {
namespace lab {

// Runs in the child right after the fork and never returns. shm is the shared
// region (see lab_proto.h); req_fd delivers doorbells, resp_fd answers them.
[[noreturn]] void child_main(void* shm, uint64_t shm_size, int req_fd, int resp_fd, int parent_pid);

}  // namespace lab
}  // namespace mp
