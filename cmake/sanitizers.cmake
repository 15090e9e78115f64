# IPCRING_SANITIZE: "" (none), "address" (ASan + UBSan) or "thread" (TSan). Set by the presets.
# Applies to everything built here (library, tests, examples, bench), never to consumers of an
# installed package.
set(IPCRING_SANITIZE "" CACHE STRING "Sanitizer build: address | thread | empty")
if(IPCRING_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(IPCRING_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT IPCRING_SANITIZE STREQUAL "")
  message(FATAL_ERROR "IPCRING_SANITIZE='${IPCRING_SANITIZE}': use address, thread or empty")
endif()
