// The thin node-addon-api layer over native/sys: argument checks at the
// boundary, BigInt addresses, and errors shaped like Node's own system errors
// (code, negative errno, syscall, "ENOMEM: Cannot allocate memory, mremap").
// Every syscall function takes a last boolean: true throws on failure, false
// returns an outcome object ({ ok: true, value } or { ok: false, code, errno,
// syscall }).
#include <errno.h>
#include <napi.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <utility>

#include "../sys/lab.h"
#include "../sys/syscalls.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

namespace {

// The symbolic name of an errno value, as strerrorname_np() gives it, from a
// table of Linux's errno names (aliases such as EWOULDBLOCK give the first
// name): strerrorname_np() needs glibc 2.32, and the prebuilt addon must load
// on the glibc 2.28 that Node 20 itself needs.
std::string errno_name(int e) {
#define NAME(n) \
  case n:       \
    return #n;
  switch (e) {
    // clang-format off
    NAME(EPERM) NAME(ENOENT) NAME(ESRCH) NAME(EINTR) NAME(EIO) NAME(ENXIO) NAME(E2BIG) NAME(ENOEXEC)
    NAME(EBADF) NAME(ECHILD) NAME(EAGAIN) NAME(ENOMEM) NAME(EACCES) NAME(EFAULT) NAME(ENOTBLK)
    NAME(EBUSY) NAME(EEXIST) NAME(EXDEV) NAME(ENODEV) NAME(ENOTDIR) NAME(EISDIR) NAME(EINVAL)
    NAME(ENFILE) NAME(EMFILE) NAME(ENOTTY) NAME(ETXTBSY) NAME(EFBIG) NAME(ENOSPC) NAME(ESPIPE)
    NAME(EROFS) NAME(EMLINK) NAME(EPIPE) NAME(EDOM) NAME(ERANGE) NAME(EDEADLK) NAME(ENAMETOOLONG)
    NAME(ENOLCK) NAME(ENOSYS) NAME(ENOTEMPTY) NAME(ELOOP) NAME(ENOMSG) NAME(EIDRM) NAME(ECHRNG)
    NAME(EL2NSYNC) NAME(EL3HLT) NAME(EL3RST) NAME(ELNRNG) NAME(EUNATCH) NAME(ENOCSI) NAME(EL2HLT)
    NAME(EBADE) NAME(EBADR) NAME(EXFULL) NAME(ENOANO) NAME(EBADRQC) NAME(EBADSLT) NAME(EBFONT)
    NAME(ENOSTR) NAME(ENODATA) NAME(ETIME) NAME(ENOSR) NAME(ENONET) NAME(ENOPKG) NAME(EREMOTE)
    NAME(ENOLINK) NAME(EADV) NAME(ESRMNT) NAME(ECOMM) NAME(EPROTO) NAME(EMULTIHOP) NAME(EDOTDOT)
    NAME(EBADMSG) NAME(EOVERFLOW) NAME(ENOTUNIQ) NAME(EBADFD) NAME(EREMCHG) NAME(ELIBACC)
    NAME(ELIBBAD) NAME(ELIBSCN) NAME(ELIBMAX) NAME(ELIBEXEC) NAME(EILSEQ) NAME(ERESTART)
    NAME(ESTRPIPE) NAME(EUSERS) NAME(ENOTSOCK) NAME(EDESTADDRREQ) NAME(EMSGSIZE) NAME(EPROTOTYPE)
    NAME(ENOPROTOOPT) NAME(EPROTONOSUPPORT) NAME(ESOCKTNOSUPPORT) NAME(EOPNOTSUPP)
    NAME(EPFNOSUPPORT) NAME(EAFNOSUPPORT) NAME(EADDRINUSE) NAME(EADDRNOTAVAIL) NAME(ENETDOWN)
    NAME(ENETUNREACH) NAME(ENETRESET) NAME(ECONNABORTED) NAME(ECONNRESET) NAME(ENOBUFS)
    NAME(EISCONN) NAME(ENOTCONN) NAME(ESHUTDOWN) NAME(ETOOMANYREFS) NAME(ETIMEDOUT)
    NAME(ECONNREFUSED) NAME(EHOSTDOWN) NAME(EHOSTUNREACH) NAME(EALREADY) NAME(EINPROGRESS)
    NAME(ESTALE) NAME(EUCLEAN) NAME(ENOTNAM) NAME(ENAVAIL) NAME(EISNAM) NAME(EREMOTEIO) NAME(EDQUOT)
    NAME(ENOMEDIUM) NAME(EMEDIUMTYPE) NAME(ECANCELED) NAME(ENOKEY) NAME(EKEYEXPIRED)
    NAME(EKEYREVOKED) NAME(EKEYREJECTED) NAME(EOWNERDEAD) NAME(ENOTRECOVERABLE) NAME(ERFKILL)
    NAME(EHWPOISON)
        // clang-format on
        default : return "E" +
                  std::to_string(e);
  }
#undef NAME
}

Napi::Error system_error(Napi::Env env, int e, const char* syscall) {
  std::string code = errno_name(e);
  std::string msg = code + ": " + strerror(e) + ", " + syscall;
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, code));
  err.Set("errno", Napi::Number::New(env, -e));
  err.Set("syscall", Napi::String::New(env, syscall));
  return err;
}

uint64_t to_u64(const Napi::Value& v, const char* what) {
  Napi::Env env = v.Env();
  if (!v.IsBigInt()) throw Napi::TypeError::New(env, std::string(what) + " must be a BigInt");
  Napi::BigInt b = v.As<Napi::BigInt>();
  if (b.WordCount() > 1) throw Napi::RangeError::New(env, std::string(what) + " is above 2^64");
  int sign = 0;
  size_t count = 1;
  uint64_t word = 0;
  b.ToWords(&sign, &count, &word);
  if (sign != 0 && word != 0)
    throw Napi::RangeError::New(env, std::string(what) + " must not be negative");
  return word;
}

// Addresses must be BigInt; lengths and offsets may be BigInt or a safe integer Number.
uint64_t to_len(const Napi::Value& v, const char* what) {
  Napi::Env env = v.Env();
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d < 0 || d != static_cast<double>(static_cast<uint64_t>(d)) || d > 9007199254740991.0)
      throw Napi::RangeError::New(env, std::string(what) + " must be a non-negative integer");
    return static_cast<uint64_t>(d);
  }
  if (v.IsBigInt()) return to_u64(v, what);
  throw Napi::TypeError::New(env, std::string(what) + " must be a Number or a BigInt");
}

int to_int(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Number");
  return v.As<Napi::Number>().Int32Value();
}

bool wants_throw(const Napi::CallbackInfo& info, size_t i) {
  return i >= info.Length() || !info[i].IsBoolean() || info[i].As<Napi::Boolean>().Value();
}

// Turns a sys_* result into a BigInt or an error/outcome.
Napi::Value finish(Napi::Env env, int64_t r, const char* syscall, bool throws) {
  if (r < 0) {
    int e = static_cast<int>(-r);
    if (throws) throw system_error(env, e, syscall);
    Napi::Object o = Napi::Object::New(env);
    o.Set("ok", false);
    o.Set("code", errno_name(e));
    o.Set("errno", Napi::Number::New(env, -e));
    o.Set("syscall", syscall);
    return o;
  }
  Napi::Value value = Napi::BigInt::New(env, static_cast<uint64_t>(r));
  if (throws) return value;
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", true);
  o.Set("value", value);
  return o;
}

void need(const Napi::CallbackInfo& info, size_t n, const char* fn) {
  if (info.Length() < n)
    throw Napi::TypeError::New(info.Env(),
                               std::string(fn) + " needs " + std::to_string(n) + " arguments");
}

Napi::Value Mmap(const Napi::CallbackInfo& info) {
  need(info, 6, "mmap");
  int64_t r = mp::sys_mmap(to_u64(info[0], "addr"), to_len(info[1], "length"),
                           to_int(info[2], "prot"), to_int(info[3], "flags"), to_int(info[4], "fd"),
                           static_cast<int64_t>(to_len(info[5], "offset")));
  return finish(info.Env(), r, "mmap", wants_throw(info, 6));
}

Napi::Value Munmap(const Napi::CallbackInfo& info) {
  need(info, 2, "munmap");
  int64_t r = mp::sys_munmap(to_u64(info[0], "addr"), to_len(info[1], "length"));
  return finish(info.Env(), r, "munmap", wants_throw(info, 2));
}

Napi::Value Mremap(const Napi::CallbackInfo& info) {
  need(info, 5, "mremap");
  int64_t r = mp::sys_mremap(to_u64(info[0], "oldAddress"), to_len(info[1], "oldLength"),
                             to_len(info[2], "newLength"), to_int(info[3], "flags"),
                             to_u64(info[4], "newAddress"));
  return finish(info.Env(), r, "mremap", wants_throw(info, 5));
}

Napi::Value Mprotect(const Napi::CallbackInfo& info) {
  need(info, 3, "mprotect");
  int64_t r =
      mp::sys_mprotect(to_u64(info[0], "addr"), to_len(info[1], "length"), to_int(info[2], "prot"));
  return finish(info.Env(), r, "mprotect", wants_throw(info, 3));
}

Napi::Value Madvise(const Napi::CallbackInfo& info) {
  need(info, 3, "madvise");
  int64_t r = mp::sys_madvise(to_u64(info[0], "addr"), to_len(info[1], "length"),
                              to_int(info[2], "advice"));
  return finish(info.Env(), r, "madvise", wants_throw(info, 3));
}

Napi::Value Mincore(const Napi::CallbackInfo& info) {
  need(info, 3, "mincore");
  uint64_t addr = to_u64(info[0], "addr");
  uint64_t len = to_len(info[1], "length");
  if (!info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(info.Env(), "vec must be a Uint8Array");
  Napi::Uint8Array vec = info[2].As<Napi::Uint8Array>();
  uint64_t page = static_cast<uint64_t>(mp::sys_page_size());
  if (vec.ElementLength() < (len + page - 1) / page)
    throw Napi::RangeError::New(info.Env(), "vec needs one byte per page");
  int64_t r = mp::sys_mincore(addr, len, vec.Data());
  return finish(info.Env(), r, "mincore", wants_throw(info, 3));
}

Napi::Value Mlock(const Napi::CallbackInfo& info) {
  need(info, 2, "mlock");
  int64_t r = mp::sys_mlock(to_u64(info[0], "addr"), to_len(info[1], "length"));
  return finish(info.Env(), r, "mlock", wants_throw(info, 2));
}

Napi::Value Munlock(const Napi::CallbackInfo& info) {
  need(info, 2, "munlock");
  int64_t r = mp::sys_munlock(to_u64(info[0], "addr"), to_len(info[1], "length"));
  return finish(info.Env(), r, "munlock", wants_throw(info, 2));
}

Napi::Value Getrlimit(const Napi::CallbackInfo& info) {
  need(info, 1, "getrlimit");
  uint64_t cur = 0, max = 0;
  int64_t r = mp::sys_getrlimit(to_int(info[0], "resource"), &cur, &max);
  if (r < 0) throw system_error(info.Env(), static_cast<int>(-r), "getrlimit");
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("cur", Napi::BigInt::New(info.Env(), cur));
  o.Set("max", Napi::BigInt::New(info.Env(), max));
  return o;
}

Napi::Value Setrlimit(const Napi::CallbackInfo& info) {
  need(info, 3, "setrlimit");
  int64_t r = mp::sys_setrlimit(to_int(info[0], "resource"), to_u64(info[1], "cur"),
                                to_u64(info[2], "max"));
  return finish(info.Env(), r, "setrlimit", wants_throw(info, 3));
}

Napi::Value Flock(const Napi::CallbackInfo& info) {
  need(info, 2, "flock");
  int64_t r = mp::sys_flock(to_int(info[0], "fd"), to_int(info[1], "operation"));
  return finish(info.Env(), r, "flock", wants_throw(info, 2));
}

Napi::Value ReadMaps(const Napi::CallbackInfo& info) {
  need(info, 2, "readMaps");
  int pid = to_int(info[0], "pid");
  if (!info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(info.Env(), "buffer must be a Uint8Array");
  Napi::Uint8Array buf = info[1].As<Napi::Uint8Array>();
  int64_t r = mp::read_proc_maps(pid, reinterpret_cast<char*>(buf.Data()), buf.ElementLength());
  if (r < 0) throw system_error(info.Env(), static_cast<int>(-r), "read");
  return Napi::Number::New(info.Env(), static_cast<double>(r));
}

// Copies memory of this process through process_vm_readv/writev, so a bad
// address becomes EFAULT instead of a crash.
Napi::Value ReadMemory(const Napi::CallbackInfo& info) {
  need(info, 2, "readMemory");
  uint64_t addr = to_u64(info[0], "addr");
  uint64_t len = to_len(info[1], "length");
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(info.Env(), len);
  struct iovec local = {out.Data(), len};
  struct iovec remote = {reinterpret_cast<void*>(addr), len};
  long n = syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0);
  if (n < 0) throw system_error(info.Env(), errno, "process_vm_readv");
  if (static_cast<uint64_t>(n) != len) throw system_error(info.Env(), EFAULT, "process_vm_readv");
  return out;
}

Napi::Value WriteMemory(const Napi::CallbackInfo& info) {
  need(info, 2, "writeMemory");
  uint64_t addr = to_u64(info[0], "addr");
  if (!info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(info.Env(), "data must be a Uint8Array");
  Napi::Uint8Array data = info[1].As<Napi::Uint8Array>();
  struct iovec local = {data.Data(), data.ElementLength()};
  struct iovec remote = {reinterpret_cast<void*>(addr), data.ElementLength()};
  long n = syscall(SYS_process_vm_writev, getpid(), &local, 1, &remote, 1, 0);
  if (n < 0) throw system_error(info.Env(), errno, "process_vm_writev");
  if (static_cast<size_t>(n) != data.ElementLength())
    throw system_error(info.Env(), EFAULT, "process_vm_writev");
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

// getrusage(RUSAGE_SELF or RUSAGE_CHILDREN): CPU times in microseconds, max RSS in KiB.
Napi::Value Rusage(const Napi::CallbackInfo& info) {
  bool children = info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
  struct rusage ru;
  if (getrusage(children ? RUSAGE_CHILDREN : RUSAGE_SELF, &ru) != 0)
    throw system_error(info.Env(), errno, "getrusage");
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("userUs",
        static_cast<double>(ru.ru_utime.tv_sec) * 1e6 + static_cast<double>(ru.ru_utime.tv_usec));
  o.Set("systemUs",
        static_cast<double>(ru.ru_stime.tv_sec) * 1e6 + static_cast<double>(ru.ru_stime.tv_usec));
  o.Set("maxRssKb", static_cast<double>(ru.ru_maxrss));
  return o;
}

Napi::Value Strerror(const Napi::CallbackInfo& info) {
  need(info, 1, "strerror");
  return Napi::String::New(info.Env(), strerror(to_int(info[0], "errno")));
}

Napi::Value ErrnoName(const Napi::CallbackInfo& info) {
  need(info, 1, "errnoName");
  return Napi::String::New(info.Env(), errno_name(to_int(info[0], "errno")));
}

// The lab: one forked child per instance.
class Lab : public Napi::ObjectWrap<Lab> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Lab",
        {InstanceMethod<&Lab::Call>("call"), InstanceMethod<&Lab::Close>("close"),
         InstanceAccessor<&Lab::Pid>("pid"), InstanceAccessor<&Lab::State>("state")});
  }

  explicit Lab(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Lab>(info) {
    uint64_t data_cap = info.Length() > 0 ? to_len(info[0], "dataBytes") : (8u << 20);
    int64_t r = mp::lab::open(&h_, data_cap);
    if (r < 0) throw system_error(info.Env(), static_cast<int>(-r), "fork");
    pid_ = h_.pid;
  }

  ~Lab() override { mp::lab::close(&h_); }

 private:
  // call(ops: Uint8Array, timeoutMs: number) runs one batch. The ops buffer
  // holds OpRec records; the answer carries copies of the result records and
  // of the data area, or says how the child ended.
  Napi::Value Call(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    need(info, 2, "call");
    if (!info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw Napi::TypeError::New(env, "ops must be a Uint8Array");
    Napi::Uint8Array ops = info[0].As<Napi::Uint8Array>();
    int timeout = to_int(info[1], "timeoutMs");
    size_t nops = ops.ElementLength() / sizeof(mp::lab::OpRec);
    if (nops * sizeof(mp::lab::OpRec) != ops.ElementLength() || nops == 0 ||
        nops > mp::lab::kMaxOps)
      throw Napi::RangeError::New(env, "ops must hold 1 to 4096 whole records");
    Napi::Object out = Napi::Object::New(env);
    if (h_.state == mp::lab::ChildState::kRunning) {
      memcpy(mp::lab::ops(&h_), ops.Data(), ops.ElementLength());
      mp::lab::header(&h_)->nops = static_cast<uint32_t>(nops);
      int64_t r = mp::lab::call(&h_, timeout);
      if (r == 0) {
        mp::lab::Header* hdr = mp::lab::header(&h_);
        uint32_t executed = hdr->executed;
        out.Set("status", "ok");
        out.Set("executed", executed);
        out.Set("results",
                Napi::Buffer<char>::Copy(env, reinterpret_cast<char*>(mp::lab::results(&h_)),
                                         executed * sizeof(mp::lab::Result)));
        uint64_t used = hdr->data_used;
        if (used > hdr->data_cap) used = hdr->data_cap;
        out.Set("data", Napi::Buffer<char>::Copy(env, mp::lab::data(&h_), used));
        return out;
      }
      if (r != -ETIMEDOUT && r != -ECHILD) throw system_error(env, static_cast<int>(-r), "poll");
    }
    DescribeEnd(env, out);
    return out;
  }

  void DescribeEnd(Napi::Env env, Napi::Object out) {
    switch (h_.state) {
      case mp::lab::ChildState::kTimedOut:
        out.Set("status", "timeout");
        break;
      case mp::lab::ChildState::kExited:
        out.Set("status", "exited");
        out.Set("exitCode", h_.exit_status);
        break;
      case mp::lab::ChildState::kSignaled:
        out.Set("status", "signaled");
        out.Set("signal", h_.term_signal);
        break;
      default:
        out.Set("status", "closed");
        break;
    }
    (void)env;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    mp::lab::close(&h_);
    Napi::Object out = Napi::Object::New(info.Env());
    DescribeEnd(info.Env(), out);
    return out;
  }

  Napi::Value Pid(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), pid_); }

  Napi::Value State(const Napi::CallbackInfo& info) {
    Napi::Object out = Napi::Object::New(info.Env());
    if (h_.state == mp::lab::ChildState::kRunning) {
      out.Set("status", "running");
    } else {
      DescribeEnd(info.Env(), out);
    }
    return out;
  }

  mp::lab::Handle h_;
  int pid_ = -1;
};

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* n, int64_t v) {
    c.Set(n, Napi::Number::New(env, static_cast<double>(v)));
  };
  set("PAGE_SIZE", mp::sys_page_size());
  set("PROT_NONE", PROT_NONE);
  set("PROT_READ", PROT_READ);
  set("PROT_WRITE", PROT_WRITE);
  set("PROT_EXEC", PROT_EXEC);
  set("MAP_SHARED", MAP_SHARED);
  set("MAP_PRIVATE", MAP_PRIVATE);
  set("MAP_FIXED", MAP_FIXED);
  set("MAP_ANONYMOUS", MAP_ANONYMOUS);
  set("MAP_NORESERVE", MAP_NORESERVE);
  set("MAP_POPULATE", MAP_POPULATE);
  set("MAP_FIXED_NOREPLACE", MAP_FIXED_NOREPLACE);
  set("MREMAP_MAYMOVE", MREMAP_MAYMOVE);
  set("MREMAP_FIXED", MREMAP_FIXED);
  set("MREMAP_DONTUNMAP", MREMAP_DONTUNMAP);
  set("MADV_NORMAL", MADV_NORMAL);
  set("MADV_DONTNEED", MADV_DONTNEED);
  set("MADV_DONTFORK", MADV_DONTFORK);
  set("RLIMIT_AS", RLIMIT_AS);
  set("RLIMIT_DATA", RLIMIT_DATA);
  set("RLIMIT_MEMLOCK", RLIMIT_MEMLOCK);
  set("RLIMIT_NOFILE", RLIMIT_NOFILE);
  set("LOCK_SH", LOCK_SH);
  set("LOCK_EX", LOCK_EX);
  set("LOCK_NB", LOCK_NB);
  set("LOCK_UN", LOCK_UN);
  c.Set("RLIM_INFINITY", Napi::BigInt::New(env, static_cast<uint64_t>(RLIM_INFINITY)));
  return c;
}

// The lab's wire protocol for TypeScript (lib/protocol.ts): the op table,
// the record sizes and field offsets, the flags and the page classes, read
// from lab_proto.h and stamp.h so that nothing is mirrored by hand.
Napi::Object Protocol(Napi::Env env) {
  namespace L = mp::lab;
  auto obj = [&](std::initializer_list<std::pair<const char*, double>> fields) {
    Napi::Object o = Napi::Object::New(env);
    for (const auto& f : fields) o.Set(f.first, Napi::Number::New(env, f.second));
    return o;
  };
  Napi::Object p = Napi::Object::New(env);
  p.Set("version", Napi::Number::New(env, L::kVersion));
  p.Set("maxOps", Napi::Number::New(env, L::kMaxOps));
  p.Set("opArgs", Napi::Number::New(env, L::kOpArgs));
  Napi::Object ops = Napi::Object::New(env);
#define MP_EXPORT_OP(id, name, code) ops.Set(#name, Napi::Number::New(env, code));
  MP_LAB_OPS(MP_EXPORT_OP)
#undef MP_EXPORT_OP
  p.Set("ops", ops);
  p.Set("opRec", obj({{"size", sizeof(L::OpRec)},
                      {"op", offsetof(L::OpRec, op)},
                      {"flags", offsetof(L::OpRec, flags)},
                      {"args", offsetof(L::OpRec, a)}}));
  p.Set("result", obj({{"size", sizeof(L::Result)},
                       {"ret", offsetof(L::Result, ret)},
                       {"v", offsetof(L::Result, v)},
                       {"dataOff", offsetof(L::Result, data_off)},
                       {"dataLen", offsetof(L::Result, data_len)}}));
  p.Set("vmaRec", obj({{"size", sizeof(L::VmaRec)},
                       {"start", offsetof(L::VmaRec, start)},
                       {"end", offsetof(L::VmaRec, end)},
                       {"offset", offsetof(L::VmaRec, offset)},
                       {"inode", offsetof(L::VmaRec, inode)},
                       {"devMajor", offsetof(L::VmaRec, dev_major)},
                       {"devMinor", offsetof(L::VmaRec, dev_minor)},
                       {"perms", offsetof(L::VmaRec, perms)},
                       {"nameLen", offsetof(L::VmaRec, name_len)},
                       {"name", offsetof(L::VmaRec, name)},
                       {"nameBytes", L::kNameBytes}}));
  p.Set("opFlags", obj({{"stopOnError", L::kStopOnError}}));
  p.Set("queryFlags", obj({{"text", L::kQueryText}}));
  p.Set("queryMethod", obj({{"ioctl", L::kMethodIoctl}, {"text", L::kMethodText}}));
  p.Set("procFile", obj({{"meminfo", L::kProcMeminfo}, {"status", L::kProcSelfStatus}}));
  p.Set("pageClass", obj({{"unmapped", MP_PAGE_UNMAPPED},
                          {"zero", MP_PAGE_ZERO},
                          {"stamp", MP_PAGE_STAMP},
                          {"other", MP_PAGE_OTHER},
                          {"unreadable", MP_PAGE_UNREADABLE},
                          {"shift", MP_PAGE_CLASS_SHIFT}}));
  return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("constants", Constants(env));
  exports.Set("protocol", Protocol(env));
  exports.Set("mmap", Napi::Function::New<Mmap>(env, "mmap"));
  exports.Set("munmap", Napi::Function::New<Munmap>(env, "munmap"));
  exports.Set("mremap", Napi::Function::New<Mremap>(env, "mremap"));
  exports.Set("mprotect", Napi::Function::New<Mprotect>(env, "mprotect"));
  exports.Set("madvise", Napi::Function::New<Madvise>(env, "madvise"));
  exports.Set("mincore", Napi::Function::New<Mincore>(env, "mincore"));
  exports.Set("mlock", Napi::Function::New<Mlock>(env, "mlock"));
  exports.Set("munlock", Napi::Function::New<Munlock>(env, "munlock"));
  exports.Set("getrlimit", Napi::Function::New<Getrlimit>(env, "getrlimit"));
  exports.Set("setrlimit", Napi::Function::New<Setrlimit>(env, "setrlimit"));
  exports.Set("flock", Napi::Function::New<Flock>(env, "flock"));
  exports.Set("readMaps", Napi::Function::New<ReadMaps>(env, "readMaps"));
  exports.Set("readMemory", Napi::Function::New<ReadMemory>(env, "readMemory"));
  exports.Set("writeMemory", Napi::Function::New<WriteMemory>(env, "writeMemory"));
  exports.Set("errnoName", Napi::Function::New<ErrnoName>(env, "errnoName"));
  exports.Set("rusage", Napi::Function::New<Rusage>(env, "rusage"));
  exports.Set("strerror", Napi::Function::New<Strerror>(env, "strerror"));
  exports.Set("Lab", Lab::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(mremap_probe, Init)
