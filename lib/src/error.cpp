#include "ipcring/error.hpp"

namespace ipcring {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ipcring"; }
  std::string message(int value) const override { return to_string(static_cast<errc>(value)); }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::invalid_name:
      return "invalid_name";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::already_exists:
      return "already_exists";
    case errc::not_found:
      return "not_found";
    case errc::permission_denied:
      return "permission_denied";
    case errc::too_small:
      return "too_small";
    case errc::not_ready:
      return "not_ready";
    case errc::bad_magic:
      return "bad_magic";
    case errc::version_mismatch:
      return "version_mismatch";
    case errc::kind_mismatch:
      return "kind_mismatch";
    case errc::type_mismatch:
      return "type_mismatch";
    case errc::corrupted:
      return "corrupted";
    case errc::busy:
      return "busy";
    case errc::system:
      return "system";
    case errc::no_space:
      return "no_space";
    case errc::too_many_endpoints:
      return "too_many_endpoints";
  }
  return "unknown";
}

}  // namespace ipcring
