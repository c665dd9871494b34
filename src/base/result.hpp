// Result<T>: the value of an operation or the Error that stopped it (house rule 5).
#pragma once

#include <boost/system/result.hpp>

#include <stdexcept>

#include "base/error.hpp"

namespace tejun::base {

// Thrown by Result<T>::value() on an error: reaching it is a bug in the caller.
class ErrorException : public std::runtime_error {
 public:
  explicit ErrorException(const Error& error) : std::runtime_error(error.to_string()), error_(error) {}
  [[nodiscard]] const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

[[noreturn]] inline void throw_exception_from_error(const Error& error, const boost::source_location& /*where*/) {
  throw ErrorException(error);
}

template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace tejun::base
