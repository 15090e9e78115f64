# install(): headers, the static and the shared library, the CMake package (find_package(ipcring CONFIG)) and a
# pkg-config file for each library (ipcring.pc: libipcring.so; ipcring-static.pc: libipcring.a).
# Two components, as a distribution splits them: `runtime` (libipcring.so.0 and its version, the
# `ipcring` tool and `ipcring-bench`) and `development` (the rest: headers, libipcring.a, the
# libipcring.so link, the CMake package and the pkg-config files). `cmake --install <build>`
# installs both; `--component runtime` one.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS ipcring ipcring_shared EXPORT ipcringTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development
  FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})  # for consumers on CMake < 3.23 (no FILE_SET)
install(EXPORT ipcringTargets NAMESPACE ipcring::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ipcring COMPONENT development)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/ipcringConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/ipcringConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ipcring)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/ipcringConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ipcringConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/ipcringConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ipcring COMPONENT development)
file(RELATIVE_PATH IPCRING_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
foreach(pc ipcring ipcring-static)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/${pc}.pc.in ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
          COMPONENT development)
endforeach()
