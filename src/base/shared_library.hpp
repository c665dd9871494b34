// Shared libraries opened at first use (dlopen) rather than at start: a process that never
// runs a SQL or HTTP step does not load libpq or libcurl, nor the thirty libraries they pull
// in (TLS, Kerberos, LDAP, …), which would cost every server and kernel process memory and
// start time.
//
// A module lists the functions it calls in an X-macro and gets a table of pointers with the
// exact types of the library's own declarations (its header is still included):
//
//   #define TEJUN_LIBPQ(X) X(PQstatus) X(PQfinish)
//   struct LibPq { TEJUN_LIBPQ(TEJUN_SHARED_FUNCTION) };
//   auto table = base::load_functions<LibPq>("libpq.so.5", "PostgreSQL steps",
//       [](base::SharedLibrary& library, LibPq& table) { return TEJUN_LIBPQ(TEJUN_BIND_FUNCTION) true; });
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tejun::base {

// A library's handle, opened with RTLD_NOW | RTLD_LOCAL and never closed (its functions stay
// valid for the life of the process).
class SharedLibrary {
 public:
  // Opens `soname`; the error names it, says what needs it (`purpose`) and has dlerror's text.
  [[nodiscard]] static Result<SharedLibrary> open(const std::string& soname, std::string_view purpose);

  // Sets `pointer` to the library's `symbol`; false when it has none (then error() says so).
  template <class Function>
  bool bind(Function*& pointer, const char* symbol) {
    pointer = reinterpret_cast<Function*>(find(symbol));  // NOLINT(*-reinterpret-cast): dlsym's contract
    return pointer != nullptr;
  }
  [[nodiscard]] Error missing_symbols() const;

 private:
  SharedLibrary(void* handle, std::string soname, std::string purpose)
      : handle_(handle), soname_(std::move(soname)), purpose_(std::move(purpose)) {}
  [[nodiscard]] void* find(const char* symbol);

  void* handle_;
  std::string soname_;
  std::string purpose_;
  std::string missing_;  // symbols not found, comma-separated
};

// Opens `soname` and fills a `Table` of its functions with `bind_all(library, table)`, which
// returns false when one is missing.
template <class Table, class BindAll>
[[nodiscard]] Result<Table> load_functions(const std::string& soname, std::string_view purpose, BindAll bind_all) {
  auto opened = SharedLibrary::open(soname, purpose);
  if (!opened) {
    return opened.error();
  }
  Table table;
  if (!bind_all(*opened, table)) {
    return opened->missing_symbols();
  }
  return table;
}

}  // namespace tejun::base

// One member of a function table: a pointer typed like the library's declaration of `name`.
// NOLINTNEXTLINE(*-macro-usage,bugprone-macro-parentheses): `name` is a declarator
#define TEJUN_SHARED_FUNCTION(name) decltype(&::name) name = nullptr;
// One bind of a table `table` from library `library`, for a chain of && in a loader.
#define TEJUN_BIND_FUNCTION(name) library.bind(table.name, #name)&&  // NOLINT(*-macro-usage)
