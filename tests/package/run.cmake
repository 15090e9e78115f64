# cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... [-DWITH_TOOL=1] [-DWITH_BENCH=1] -P run.cmake
# Installs the build into WORK_DIR/prefix, then builds and runs the consumers in tests/package:
# through find_package(ipcring CONFIG) (static C++, shared C++, shared C, and static C from a
# C-only project) and through pkg-config (C++ and C, with ipcring.pc and ipcring-static.pc).
# A consumer of the static library must not need libipcring.so. And the runtime component alone.
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f include/ipcring/ipcring.h include/ipcring/ipcring.hpp)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "the install lacks ${f}")
  endif()
endforeach()
file(GLOB static_lib ${prefix}/lib*/libipcring.a)
file(GLOB shared_lib ${prefix}/lib*/libipcring.so)
if(NOT static_lib OR NOT shared_lib)
  message(FATAL_ERROR "the install lacks libipcring.a or libipcring.so: '${static_lib}' '${shared_lib}'")
endif()

# The runtime component alone: what a program linked to libipcring.so needs to run, and the
# tools; nothing to build with.
set(runtime ${WORK_DIR}/runtime)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${runtime} --component runtime)
file(GLOB_RECURSE runtime_so ${runtime}/libipcring.so.*)
file(GLOB_RECURSE runtime_dev ${runtime}/*.h ${runtime}/*.hpp ${runtime}/*.a ${runtime}/*.pc
                               ${runtime}/*.cmake ${runtime}/*/libipcring.so)
if(NOT runtime_so OR runtime_dev OR (WITH_TOOL AND NOT EXISTS ${runtime}/bin/ipcring)
   OR (WITH_BENCH AND NOT EXISTS ${runtime}/bin/ipcring-bench))
  message(FATAL_ERROR "--component runtime should install libipcring.so.<version>, bin/ipcring "
                      "and bin/ipcring-bench (where built), and nothing to build with: "
                      "'${runtime_so}', '${runtime_dev}'")
endif()

find_program(READELF NAMES readelf llvm-readelf REQUIRED)
function(expect_no_libipcring_needed exe)
  execute_process(COMMAND ${READELF} -d ${exe} OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR dynamic MATCHES "NEEDED[^\n]*libipcring")
    message(FATAL_ERROR "${exe} should link libipcring.a, not need libipcring.so:\n${dynamic}")
  endif()
endfunction()

# The package found must be this install's: CMAKE_PREFIX_PATH does not keep find_package from
# falling back to one installed system-wide (/usr/local), which would hide a broken install.
function(expect_found_here build_dir)
  file(STRINGS ${build_dir}/CMakeCache.txt found REGEX "^ipcring_DIR:")
  string(REGEX REPLACE "^ipcring_DIR:[A-Z]+=" "" found "${found}")
  string(FIND "${found}" "${prefix}/" at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "find_package(ipcring) found '${found}', not the install in ${prefix}")
  endif()
endfunction()

run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package -B ${WORK_DIR}/cmake-consumer
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
expect_found_here(${WORK_DIR}/cmake-consumer)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-consumer)
foreach(exe consumer consumer_shared consumer_c)
  run(${WORK_DIR}/cmake-consumer/${exe})
endforeach()
expect_no_libipcring_needed(${WORK_DIR}/cmake-consumer/consumer)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/c_only -B ${WORK_DIR}/cmake-c-consumer
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
expect_found_here(${WORK_DIR}/cmake-c-consumer)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-c-consumer)
run(${WORK_DIR}/cmake-c-consumer/consumer_c_static)
expect_no_libipcring_needed(${WORK_DIR}/cmake-c-consumer/consumer_c_static)

find_program(PKG_CONFIG pkg-config REQUIRED)
file(GLOB pc_dirs ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
# LIBDIR, not PATH: only this install's .pc files, none of the system's (as above); and no
# PKG_CONFIG_PATH of the caller's, searched before it. pkg-config separates directories by ':'.
string(REPLACE ";" ":" pc_path "${pc_dirs}")
unset(ENV{PKG_CONFIG_PATH})
set(ENV{PKG_CONFIG_LIBDIR} "${pc_path}")
function(pkg_config_flags var module)
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs ${module} OUTPUT_VARIABLE flags
                  RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config does not find ${module} in ${pc_dirs}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  set(${var} ${flags} PARENT_SCOPE)
endfunction()
pkg_config_flags(flags ipcring)
pkg_config_flags(static_flags ipcring-static)
get_filename_component(libdir ${shared_lib} DIRECTORY)
find_program(CXX NAMES c++ g++ clang++ REQUIRED)
find_program(CC NAMES cc gcc clang REQUIRED)
run(${CXX} -std=c++20 ${SOURCE_DIR}/tests/package/consumer.cpp -o ${WORK_DIR}/pc-consumer ${flags})
run(${CC} ${SOURCE_DIR}/tests/package/consumer_c.c -o ${WORK_DIR}/pc-consumer-c ${flags})
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${WORK_DIR}/pc-consumer)
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${WORK_DIR}/pc-consumer-c)
run(${CXX} -std=c++20 ${SOURCE_DIR}/tests/package/consumer.cpp -o ${WORK_DIR}/pc-static-consumer
    ${static_flags})
run(${CC} ${SOURCE_DIR}/tests/package/consumer_c.c -o ${WORK_DIR}/pc-static-consumer-c
    ${static_flags})
foreach(exe pc-static-consumer pc-static-consumer-c)
  run(${WORK_DIR}/${exe})
  expect_no_libipcring_needed(${WORK_DIR}/${exe})
endforeach()
