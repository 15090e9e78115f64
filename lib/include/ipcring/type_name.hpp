// ipcring/type_name.hpp: the element-type name stored in a ring's header and checked on open.
//
// Together with sizeof(T) and alignof(T) the name is the element-type fingerprint: a consumer
// built against a different struct fails to open instead of reading garbage. Defaults:
//   * arithmetic types get portable names ("uint64", "int32", "float64", "char8", "bool8");
//   * other types get the compiler's spelling of the type ("trade", "ns::quote<int>"), which
//     can differ between compilers. Processes built by different compilers, or types that
//     changed meaning without changing name, should name the type themselves:
//
//   template <> struct ipcring::type_tag<my::quote> {
//     static constexpr std::string_view name = "my.quote/v2";
//   };
//
// ring_options::type_name overrides both at run time. Names longer than 63 bytes are stored as
// a 16-hex-digit FNV-1a hash of the whole name, '~', and the name's last 46 bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace ipcring {
namespace detail {

#if defined(__clang__) || defined(__GNUC__)
template <class T>
constexpr std::string_view pretty_function() {
  return __PRETTY_FUNCTION__;  // "... [with T = foo; ...]" (gcc) or "... [T = foo]" (clang)
}
#endif

template <class T>
constexpr std::string_view compiler_type_name() {
#if defined(__clang__) || defined(__GNUC__)
  // What surrounds T's spelling is measured on a probe type, so the spelling may hold any
  // character (']' in "kv<char [8], int>", ';' in "ch<';'>").
  constexpr std::string_view probe = pretty_function<double>();
  constexpr std::size_t before = probe.find("double");
  constexpr std::size_t after = probe.size() - before - 6;
  constexpr std::string_view f = pretty_function<T>();
  return f.substr(before, f.size() - before - after);
#elif defined(_MSC_VER)
  constexpr std::string_view f = __FUNCSIG__;  // "... compiler_type_name<foo>(void)"
  constexpr std::size_t b = f.find("compiler_type_name<") + 19;
  constexpr std::size_t e = f.rfind(">(void)");
  return f.substr(b, e - b);
#else
  return "unnamed";
#endif
}

template <class T>
constexpr std::string_view default_type_name() {
  if constexpr (std::is_same_v<T, bool>) {
    return "bool8";
  } else if constexpr (std::is_floating_point_v<T>) {
    if constexpr (sizeof(T) == 4)
      return "float32";
    else if constexpr (sizeof(T) == 8)
      return "float64";
    else
      return compiler_type_name<T>();
  } else if constexpr (std::is_same_v<T, char> || std::is_same_v<T, char8_t>) {
    return "char8";
  } else if constexpr (std::is_integral_v<T>) {
    constexpr bool s = std::is_signed_v<T>;
    if constexpr (sizeof(T) == 1)
      return s ? "int8" : "uint8";
    else if constexpr (sizeof(T) == 2)
      return s ? "int16" : "uint16";
    else if constexpr (sizeof(T) == 4)
      return s ? "int32" : "uint32";
    else if constexpr (sizeof(T) == 8)
      return s ? "int64" : "uint64";
    else
      return compiler_type_name<T>();
  } else {
    return compiler_type_name<T>();
  }
}

}  // namespace detail

/// Customisation point: specialise with `static constexpr std::string_view name = "...";`.
template <class T>
struct type_tag {
  static constexpr std::string_view name = detail::default_type_name<std::remove_cv_t<T>>();
};

/// The name as stored in the header (hash-shortened when longer than 63 bytes).
std::string stored_type_name(std::string_view name);

}  // namespace ipcring
