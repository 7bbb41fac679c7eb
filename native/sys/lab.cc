// Parent side of the lab; see lab.h. Runs in the Node process.
#include "lab.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab_child.h"

namespace mp {
namespace lab {

namespace {

int64_t now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void record_status(Handle* h, int status) {
  if (WIFEXITED(status)) {
    h->state = ChildState::kExited;
    h->exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    h->state = ChildState::kSignaled;
    h->term_signal = WTERMSIG(status);
  }
}

void reap(Handle* h) {
  if (h->pid <= 0) return;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(h->pid, &status, __WALL);
  } while (r == -1 && errno == EINTR);
  if (r == h->pid && h->state == ChildState::kRunning) record_status(h, status);
  h->pid = -1;
}

void close_fd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

}  // namespace

int64_t open(Handle* h, uint64_t data_cap) {
  // Whole pages: the data area ends where the mapping does.
  uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t size = (kDataOffset + data_cap + page - 1) & ~(page - 1);
  void* shm = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shm == MAP_FAILED) return -errno;
  int req[2], resp[2];
  if (pipe2(req, O_CLOEXEC) != 0) {
    int e = errno;
    munmap(shm, size);
    return -e;
  }
  if (pipe2(resp, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(req[0]);
    ::close(req[1]);
    munmap(shm, size);
    return -e;
  }
  Header* hdr = static_cast<Header*>(shm);
  hdr->magic = kMagic;
  hdr->version = kVersion;
  hdr->data_cap = size - kDataOffset;

  int parent = static_cast<int>(getpid());
  // A raw clone, not fork(): no pthread_atfork handlers of the Node process
  // run, and the child goes straight into code that makes raw system calls.
  long pid = syscall(SYS_clone, SIGCHLD, 0, nullptr, nullptr, 0);
  if (pid == -1) {
    int e = errno;
    ::close(req[0]);
    ::close(req[1]);
    ::close(resp[0]);
    ::close(resp[1]);
    munmap(shm, size);
    return -e;
  }
  if (pid == 0) child_main(shm, size, req[0], resp[1], parent);

  ::close(req[0]);
  ::close(resp[1]);
  h->pid = static_cast<pid_t>(pid);
  h->req_fd = req[1];
  h->resp_fd = resp[0];
  h->shm = static_cast<char*>(shm);
  h->shm_size = size;
  h->state = ChildState::kRunning;
  h->exit_status = 0;
  h->term_signal = 0;
  hdr->child_pid = pid;
  return 0;
}

int64_t call(Handle* h, int timeout_ms) {
  if (h->state != ChildState::kRunning) return -ECHILD;
  char bell = 1;
  ssize_t w;
  do {
    w = write(h->req_fd, &bell, 1);
  } while (w == -1 && errno == EINTR);
  if (w != 1) {
    // EPIPE: the child is gone.
    reap(h);
    return -ECHILD;
  }
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left < 0) left = 0;
    struct pollfd p = {h->resp_fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r == -1 && errno == EINTR) continue;
    if (r == 0) {
      kill(h->pid, SIGKILL);
      h->state = ChildState::kTimedOut;
      h->term_signal = SIGKILL;
      reap(h);
      return -ETIMEDOUT;
    }
    if (r < 0) return -errno;
    char answer;
    ssize_t n;
    do {
      n = read(h->resp_fd, &answer, 1);
    } while (n == -1 && errno == EINTR);
    if (n == 1) return 0;
    reap(h);  // EOF: the child died
    return -ECHILD;
  }
}

void close(Handle* h) {
  if (h->pid > 0) {
    if (h->state == ChildState::kRunning) {
      kill(h->pid, SIGKILL);
      h->state = ChildState::kClosed;
    }
    reap(h);
  }
  close_fd(&h->req_fd);
  close_fd(&h->resp_fd);
  if (h->shm != nullptr) munmap(h->shm, h->shm_size);
  h->shm = nullptr;
  h->shm_size = 0;
  if (h->state == ChildState::kRunning) h->state = ChildState::kClosed;
}

}  // namespace lab
}  // namespace mp
