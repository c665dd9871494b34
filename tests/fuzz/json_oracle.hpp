// Boost.JSON as the reference for tejun's JSON parser: both must accept the same texts
// (but for what Python's json accepts beyond the standard) and read the same values.
#pragma once

#include <boost/json.hpp>

#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>

#include "notebook/json_parser.hpp"

namespace tejun::fuzz {

inline double number_value(const boost::json::value& value) {
  if (value.is_int64()) {
    return static_cast<double>(value.get_int64());
  }
  if (value.is_uint64()) {
    return static_cast<double>(value.get_uint64());
  }
  return value.get_double();
}

inline bool same_value(const notebook::Json& ours, const boost::json::value& reference) {
  using Kind = notebook::Json::Kind;
  switch (ours.kind()) {
    case Kind::null:
      return reference.is_null();
    case Kind::boolean:
      return reference.is_bool() && reference.get_bool() == ours.as_bool();
    case Kind::number: {
      if (!reference.is_number()) {
        return false;
      }
      const double expected = number_value(reference);
      const double actual = std::strtod(ours.as_number().text.c_str(), nullptr);
      // Boost.JSON 1.81 rounds long numbers imprecisely (by default): allow its error. It
      // also reads 0e400 as NaN, where Python (and tejun) read 0.0.
      return actual == expected || (std::isinf(actual) && std::isinf(expected)) ||
             (std::isnan(expected) && actual == 0.0) || std::fabs(actual - expected) <= 1e-14 * std::fabs(expected);
    }
    case Kind::string:
      return reference.is_string() && std::string_view(reference.get_string()) == ours.as_string();
    case Kind::string_array: {
      if (!reference.is_array() || reference.get_array().size() != ours.as_string_array().size()) {
        return false;
      }
      for (std::size_t i = 0; i < ours.as_string_array().size(); ++i) {
        const auto& element = reference.get_array()[i];
        if (!element.is_string() || std::string_view(element.get_string()) != ours.as_string_array()[i]) {
          return false;
        }
      }
      return true;
    }
    case Kind::array: {
      if (!reference.is_array() || reference.get_array().size() != ours.as_array().size()) {
        return false;
      }
      for (std::size_t i = 0; i < ours.as_array().size(); ++i) {
        if (!same_value(ours.as_array()[i], reference.get_array()[i])) {
          return false;
        }
      }
      return true;
    }
    case Kind::object: {
      if (!reference.is_object() || reference.get_object().size() != ours.as_object().size()) {
        return false;
      }
      for (const auto& [key, value] : ours.as_object()) {
        const auto* found = reference.get_object().if_contains(key);
        if (found == nullptr || !same_value(value, *found)) {
          return false;
        }
      }
      return true;
    }
  }
  return false;
}

// Aborts when tejun's parser and Boost.JSON disagree on `text`.
inline void check_against_reference(std::string_view text) {
  auto ours = notebook::parse_json(text);
  // Beyond standard JSON, tejun reads what Python's json module reads.
  if (ours && (text.find("NaN") != std::string_view::npos || text.find("Infinity") != std::string_view::npos ||
               text.starts_with("\xEF\xBB\xBF"))) {
    return;
  }
  boost::json::parse_options options;
  options.max_depth = 100000;
  boost::json::error_code error;
  const boost::json::value reference =
      boost::json::parse(boost::json::string_view(text.data(), text.size()), error, {}, options);
  if (!ours) {
    const bool too_deep = ours.error().message.find("nested deeper") != std::string::npos;
    if (!error && !too_deep) {
      std::abort();  // Boost.JSON reads what tejun rejects
    }
    return;
  }
  // A number too large for a double: Python reads it as inf, Boost.JSON refuses it.
  if (error == boost::json::error::exponent_overflow) {
    return;
  }
  if (error || !same_value(*ours, reference)) {
    std::abort();  // tejun reads what Boost.JSON rejects, or reads it differently
  }
}

}  // namespace tejun::fuzz
