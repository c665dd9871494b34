#include "exec/libpq.hpp"

namespace tejun::exec {

const base::Result<LibPq>& load_libpq() {
  static const auto kLoaded = base::load_functions<LibPq>(
      "libpq.so.5", "PostgreSQL steps",
      [](base::SharedLibrary& library, LibPq& table) { return TEJUN_LIBPQ(TEJUN_BIND_FUNCTION) true; });
  return kLoaded;
}

const LibPq& pq() {
  return load_libpq().value();
}

}  // namespace tejun::exec
