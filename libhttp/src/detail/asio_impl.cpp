// Asio is compiled once, here (ASIO_SEPARATE_COMPILATION), instead of in every source using it.
// A standard header first: Asio detects aligned_alloc from the library's feature macros, and every
// other source has included one before Asio, so this file must agree with them on how Asio
// allocates (otherwise ASan reports alloc-dealloc mismatches).
#include <cstdlib>

#include <asio/impl/src.hpp>
