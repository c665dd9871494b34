#include "base/shared_library.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

namespace tejun::base {

Result<SharedLibrary> SharedLibrary::open(const std::string& soname, std::string_view purpose) {
  void* handle = ::dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return make_error(ErrorCode::not_found, fmt::format("{} need the shared library {}, which could not be loaded: {}",
                                                        purpose, soname, why == nullptr ? "unknown reason" : why));
  }
  return SharedLibrary(handle, soname, std::string(purpose));
}

void* SharedLibrary::find(const char* symbol) {
  void* found = ::dlsym(handle_, symbol);
  if (found == nullptr) {
    missing_ += missing_.empty() ? "" : ", ";
    missing_ += symbol;
  }
  return found;
}

Error SharedLibrary::missing_symbols() const {
  return make_error(
      ErrorCode::not_found,
      fmt::format("{} need {} to have {}, which it has not: is it an older version?", purpose_, soname_, missing_));
}

}  // namespace tejun::base
