#include "exit_codes.hpp"

#include "ipcring/ipcring.h"

namespace ipcring::cli {

exit_code exit_code_for(errc e) noexcept {
  switch (e) {
    case errc::not_found:
      return exit_code::not_found;
    case errc::invalid_name:
    case errc::invalid_argument:
      return exit_code::usage;
    case errc::too_small:
    case errc::bad_magic:
    case errc::version_mismatch:
    case errc::kind_mismatch:
    case errc::type_mismatch:
    case errc::corrupted:
      return exit_code::incompatible;
    case errc::busy:
    case errc::too_many_endpoints:
      return exit_code::busy;
    case errc::already_exists:
    case errc::permission_denied:
    case errc::not_ready:
    case errc::system:
    case errc::no_space:
      break;
  }
  return exit_code::error;
}

exit_code exit_code_for_status(int status) noexcept {
  if (status <= IPCRING_E_INVALID_NAME && status >= IPCRING_E_TOO_MANY_ENDPOINTS) {
    return exit_code_for(static_cast<errc>(-status));
  }
  switch (status) {
    case IPCRING_OK:
      return exit_code::ok;
    case IPCRING_TIMEOUT:
      return exit_code::timeout;
    case IPCRING_CORRUPTED:
    case IPCRING_E_UNSUPPORTED:
      return exit_code::incompatible;
    default:
      break;
  }
  return exit_code::error;
}

}  // namespace ipcring::cli
