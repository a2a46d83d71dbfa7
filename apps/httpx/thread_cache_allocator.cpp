// httpx's replacement of the global operator new/delete (linked into the binary only, never into
// libhttp): a per-thread cache of recently freed small blocks in front of malloc.
//
// Why: every request on the keep-alive hot path makes and frees a few dozen small objects, and an
// event loop finishes many requests in one turn, so frees and allocations of one size come in
// bursts of up to the connection count. glibc's own per-thread cache holds 7 blocks a size; past
// that each operation takes malloc's locked slow path (bins, coalescing, consolidation), which
// measured 15% of `httpx bench`'s user-space instructions. Here each size class keeps up to 256
// blocks, so a burst is served from the cache. Blocks still come from and go back to malloc: a
// block freed on another thread than the one that allocated it simply joins that thread's cache.
//
// Sanitizer builds keep the standard allocation functions, so ASan still sees every allocation.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)

#include <malloc.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace {

constexpr std::size_t kGranule = 16;
constexpr std::size_t kLargest = 1024;  // larger blocks go straight to malloc
constexpr std::size_t kClasses = kLargest / kGranule + 1;
constexpr unsigned kDepth = 256;        // blocks kept per class

struct Block {
  Block* next;
};

// Plain data, so it is never destroyed: operator delete stays usable in the thread's last
// destructors, after the flush below has run (blocks then go straight back to malloc).
struct Cache {
  Block* head[kClasses];
  unsigned count[kClasses];
  bool flushed;
};
thread_local Cache cache;

// Gives the cached blocks back to malloc when the thread ends.
struct Flush {
  ~Flush() {
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (Block* b = cache.head[c]) {
        cache.head[c] = b->next;
        std::free(b);
      }
      cache.count[c] = 0;
    }
    cache.flushed = true;
  }
};
thread_local Flush flush;

// The first allocation of a thread makes its Flush, which registers the flush at thread exit.
void register_flush() {
  static thread_local bool registered = false;
  if (registered) return;
  registered = true;
  Flush* f = &flush;
  asm volatile("" : : "r"(f) : "memory");
}

void* allocate(std::size_t size) {
  if (size <= kLargest) {
    // A block of class c has at least c * kGranule usable bytes (see release).
    const std::size_t c = (size + kGranule - 1) / kGranule;
    if (Block* b = cache.head[c]) {
      cache.head[c] = b->next;
      --cache.count[c];
      return b;
    }
    register_flush();
  }
  void* p = std::malloc(size ? size : 1);
  if (!p) throw std::bad_alloc();
  return p;
}

void release(void* p) noexcept {
  if (!p) return;
  const std::size_t usable = malloc_usable_size(p);
  const std::size_t c = usable / kGranule;
  if (usable <= kLargest + kGranule - 1 && c < kClasses && cache.count[c] < kDepth && !cache.flushed) {
    auto* b = static_cast<Block*>(p);
    b->next = cache.head[c];
    cache.head[c] = b;
    ++cache.count[c];
    return;
  }
  std::free(p);
}

}  // namespace

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }

#endif
