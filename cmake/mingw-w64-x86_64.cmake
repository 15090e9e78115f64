# Cross-build for 64-bit Windows with MinGW-w64 from Debian (g++-mingw-w64-x86-64-posix), run
# under Wine: with CMAKE_CROSSCOMPILING_EMULATOR set, plain `ctest` starts every test with wine.
#
#   cmake --preset windows && cmake --build --preset windows && ctest --preset windows
#
# The posix thread model gives std::thread and std::mutex. Executables link libgcc, libstdc++ and
# winpthread statically, so Wine needs no MinGW DLLs on its path.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(IPCRING_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${IPCRING_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${IPCRING_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${IPCRING_MINGW_TRIPLE}-windres)

# Libraries and headers come from the MinGW sysroot only, never from the host's /usr/include.
set(CMAKE_FIND_ROOT_PATH /usr/${IPCRING_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static")

find_program(IPCRING_WINE NAMES wine wine64 PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH)
if(IPCRING_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${IPCRING_WINE})
endif()
